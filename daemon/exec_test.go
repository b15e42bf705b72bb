package daemon

import "testing"

func TestExecOn(t *testing.T) {
	for _, tt := range []struct {
		flag    string
		tls     bool
		want    bool
		wantErr bool
	}{
		{"auto", true, true, false},
		{"auto", false, false, false}, // plain HTTP: whoever reaches the port would run commands as root
		{"true", false, true, false},
		{"false", true, false, false},
		{"yes", true, false, true},
	} {
		t.Run(tt.flag, func(t *testing.T) {
			got, err := execOn(tt.flag, tt.tls)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("execOn(%q, tls %v) = %v, %v; want %v, error %v", tt.flag, tt.tls, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
