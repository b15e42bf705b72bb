package unit_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/flota-dev/flota/unit"
)

func TestPortsOption(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string // Port.String of each
		err        string
	}{
		{"none", "Global=false\n", nil, ""},
		{"a number", "Ports=8080\n", []string{"8080"}, ""},
		{"named, several, udp", "Ports=http=8080 dns=53/udp\nPorts=9100/tcp\n", []string{"http=8080", "dns=53/udp", "9100"}, ""},
		{"quoted", "Ports=\"http=80\" \"https=443\"\n", []string{"http=80", "https=443"}, ""},
		{"an instance's number", "Ports=80%i\n", []string{"801"}, ""},
		{"not a number", "Ports=http\n", nil, `line 5: invalid Ports "http": port "http": want 1..65535`},
		{"out of range", "Ports=70000\n", nil, `port "70000": want 1..65535`},
		{"zero", "Ports=0\n", nil, `port "0": want 1..65535`},
		{"bad protocol", "Ports=53/sctp\n", nil, `protocol "sctp"`},
		{"bad name", "Ports=Web_1=80\n", nil, `name "Web_1": want 1 to 15 lower-case letters`},
		{"a port twice", "Ports=80 http=80\n", nil, "port 80/tcp declared twice"},
		{"a name twice", "Ports=http=80 http=8080\n", nil, `name "http" declared twice`},
		{"tcp and udp of one number", "Ports=53 53/udp\n", []string{"53", "53/udp"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := unit.Parse("web@1.service", fleetFile(tt.body))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range f.Fleet.Ports {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("ports %q, want %q", got, tt.want)
			}
		})
	}
}
