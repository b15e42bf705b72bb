package unit_test

import (
	"strings"
	"testing"

	"github.com/flota-dev/flota/unit"
)

func TestRebalanceOption(t *testing.T) {
	tests := []struct {
		name, body string
		off        bool
		err        string
	}{
		{"default: rebalanced", "SpreadBy=rack\n", false, ""},
		{"false", "SpreadBy=rack\nRebalance=false\n", true, ""},
		{"no", "Rebalance=no\n", true, ""},
		{"the last counts", "Rebalance=false\nRebalance=yes\n", false, ""},
		{"bad value, with its line", "SpreadBy=rack\nRebalance=sometimes\n", false, `line 6: invalid Rebalance value "sometimes": want true or false`},
		{"empty", "Rebalance=\n", false, `line 5: invalid Rebalance value "": want true or false`},
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
			if f.Fleet.NoRebalance != tt.off {
				t.Fatalf("NoRebalance %v, want %v", f.Fleet.NoRebalance, tt.off)
			}
		})
	}
}
