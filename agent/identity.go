package agent

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/flota-dev/flota/registry"
)

// MachineID reads systemd's machine ID from path (normally /etc/machine-id).
func MachineID(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("machine ID: %w (set --machine-id)", err)
	}
	id := strings.TrimSpace(string(data))
	if id == "" {
		return "", fmt.Errorf("machine ID: %s is empty (set --machine-id)", path)
	}
	return id, nil
}

// PublicIP picks the first global unicast IPv4 address of an interface that
// is up, as fleet did; "" when there is none.
func PublicIP() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
				return ipn.IP.String()
			}
		}
	}
	return ""
}

// ParseMetadata reads "k=v,k2=v2" (fleet's --metadata format). Each pair
// must pass registry.CheckMetadata, the rule flotactl label checks too.
func ParseMetadata(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok {
			return nil, fmt.Errorf("metadata %q: want key=value", pair)
		}
		if err := registry.CheckMetadata(k, v); err != nil {
			return nil, fmt.Errorf("metadata %q: %w", pair, err)
		}
		out[k] = v
	}
	return out, nil
}
