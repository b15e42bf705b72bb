package unit

import (
	"strings"
	"testing"
)

func TestStopsOnDisconnect(t *testing.T) {
	for _, tc := range []struct {
		name, fleet string
		def         Disconnect
		want        bool
	}{
		{"plain unit keeps under auto", "", DisconnectAuto, false},
		{"a unit with Conflicts stops under auto", "Conflicts=web@*", DisconnectAuto, true},
		{"a global with Conflicts keeps under auto", "Global=true\nConflicts=x.service", DisconnectAuto, false},
		{"cluster default stop", "", DisconnectStop, true},
		{"cluster default keep, even with Conflicts", "Conflicts=web@*", DisconnectKeep, false},
		{"own keep beats the default", "OnDisconnect=keep", DisconnectStop, false},
		{"own stop beats the default", "OnDisconnect=stop", DisconnectKeep, true},
		{"own auto defers to the default", "OnDisconnect=auto", DisconnectStop, true},
		{"a global may ask to stop", "Global=true\nOnDisconnect=stop", DisconnectAuto, true},
		{"no default at all reads as auto", "Conflicts=a*", DisconnectDefault, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("web@1.service", []byte("[Service]\nExecStart=/bin/true\n[X-Fleet]\n"+tc.fleet+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Fleet.StopsOnDisconnect(tc.def); got != tc.want {
				t.Fatalf("StopsOnDisconnect(%q) = %v, want %v", tc.def, got, tc.want)
			}
		})
	}
}

func TestOnDisconnectRefusesBadValues(t *testing.T) {
	for _, v := range []string{"yes", "STOP", "", "stop keep"} {
		t.Run(v, func(t *testing.T) {
			_, err := Parse("a.service", []byte("[Service]\nExecStart=/bin/true\n[X-Fleet]\nOnDisconnect="+v+"\n"))
			if err == nil || !strings.Contains(err.Error(), "line 4") || !strings.Contains(err.Error(), "OnDisconnect") {
				t.Fatalf("OnDisconnect=%q: err %v, want one naming line 4 and the option", v, err)
			}
		})
	}
}
