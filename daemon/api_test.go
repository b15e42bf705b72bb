package daemon

import "testing"

func TestAgentAPIAddress(t *testing.T) {
	tests := []struct {
		name, flag, ip         string
		tls                    bool
		listen, advertise, err string
	}{
		{name: "default on the public IP", ip: "10.77.0.11", listen: "10.77.0.11:4920", advertise: "http://10.77.0.11:4920"},
		{name: "default without a public IP", listen: "127.0.0.1:4920", advertise: "http://127.0.0.1:4920"},
		{name: "every address, advertised on the public IP", flag: ":5000", ip: "10.77.0.11", listen: ":5000", advertise: "http://10.77.0.11:5000"},
		{name: "an explicit host", flag: "127.0.0.1:5001", ip: "10.77.0.11", listen: "127.0.0.1:5001", advertise: "http://127.0.0.1:5001"},
		{name: "over TLS", ip: "10.77.0.11", tls: true, listen: "10.77.0.11:4920", advertise: "https://10.77.0.11:4920"},
		{name: "off", flag: "off", ip: "10.77.0.11"},
		{name: "no port", flag: "127.0.0.1", err: `--agent-api "127.0.0.1": want host:port or off`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			listen, advertise, err := agentAPIAddress(tc.flag, tc.ip, tc.tls)
			if tc.err != "" {
				if err == nil || len(err.Error()) < len(tc.err) || err.Error()[:len(tc.err)] != tc.err {
					t.Fatalf("err %v, want it to start with %q", err, tc.err)
				}
				return
			}
			if err != nil || listen != tc.listen || advertise != tc.advertise {
				t.Fatalf("got (%q, %q, %v), want (%q, %q)", listen, advertise, err, tc.listen, tc.advertise)
			}
		})
	}
}
