package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestEndpoints: a container unit that declares its port (Ports=) is
// listed by flotactl endpoints at its machine's IP and that port while it
// runs, answers there, and is no longer listed once it stops.
func TestEndpoints(t *testing.T) {
	c := up(t)
	c.webImage(t)
	const name = "ep-web.service"
	c.destroyAtEnd(t, name)
	text := `[Service]
ExecStart=/usr/bin/busybox httpd -f -p 8095 -h /usr/share/www

[X-Container]
Image=web:1

[X-Fleet]
Ports=http=8095
`
	c.must(t, "start", unitFile(t, name, text))
	at := c.activeOn(t, name, time.Minute)
	want := at.ip + ":8095\thttp\n"
	var addr string
	eventually(t, 30*time.Second, name+" listed by flotactl endpoints", func() (bool, string) {
		r := c.ctl(t, 10*time.Second, "endpoints", "--no-legend", "--fields=address,name", "ep-*")
		addr = strings.TrimSuffix(want, "\thttp\n")
		return r.code == 0 && r.out == want, r.out + r.errOut
	})
	eventually(t, 30*time.Second, name+" answering at its endpoint "+addr, func() (bool, string) {
		got := get("http://" + addr + "/")
		return got == webPage, got
	})
	c.must(t, "stop", name)
	eventually(t, 30*time.Second, name+" no longer listed once stopped", func() (bool, string) {
		r := c.ctl(t, 10*time.Second, "endpoints", "--no-legend", "ep-*")
		return r.code == 0 && r.out == "", r.out + r.errOut
	})
}
