package quota

import (
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestLimitArgs(t *testing.T) {
	tests := []struct {
		name      string
		bytes     uint64
		exclusive bool
		want      []string
	}{
		{"referenced", 8 << 20, false, []string{"qgroup", "limit", "8388608", "/v"}},
		{"none", 0, false, []string{"qgroup", "limit", "none", "/v"}},
		{"exclusive", 1, true, []string{"qgroup", "limit", "-e", "1", "/v"}},
		{"exclusive none", 0, true, []string{"qgroup", "limit", "-e", "none", "/v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := limitArgs("/v", tt.bytes, tt.exclusive); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("limitArgs = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseQgroupShow(t *testing.T) {
	const head = "Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive   Path \n" +
		"--------    ----------    ---------  --------------  -------------   ---- \n"
	tests := []struct {
		name    string
		out     string
		want    Qgroup
		wantErr string
	}{
		{name: "limited", out: head + "0/256          8372224      8372224         8388608           none   v1\n",
			want: Qgroup{ID: "0/256", Referenced: 8372224, Exclusive: 8372224, MaxReferenced: 8388608}},
		{name: "no limits", out: head + "0/257            16384        16384            none           none   volumes/data\n",
			want: Qgroup{ID: "0/257", Referenced: 16384, Exclusive: 16384}},
		{name: "both limits", out: head + "0/258  100  50  1000  500  a\n",
			want: Qgroup{ID: "0/258", Referenced: 100, Exclusive: 50, MaxReferenced: 1000, MaxExclusive: 500}},
		{name: "path with blanks", out: head + "0/259  1  2  none  none  my vol\n",
			want: Qgroup{ID: "0/259", Referenced: 1, Exclusive: 2}},
		{name: "higher-level qgroup first", out: head + "1/100  9  9  none  none  -\n0/260  1  1  none  none  v\n",
			want: Qgroup{ID: "0/260", Referenced: 1, Exclusive: 1}},
		{name: "empty", out: head, wantErr: "no subvolume qgroup"},
		{name: "not numbers", out: head + "0/256  1.5MiB  1  none  none  v\n", wantErr: "invalid syntax"},
		{name: "none where a count must be", out: head + "0/256  none  1  none  none  v\n", wantErr: "invalid syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseQgroupShow([]byte(tt.out))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseMemTotal(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    uint64
		wantErr bool
	}{
		{name: "real", text: "MemTotal:       16318412 kB\nMemFree:         1234567 kB\nMemAvailable:    9876543 kB\n",
			want: 16318412 << 10},
		{name: "not first", text: "MemFree:  1 kB\nMemTotal: 2 kB\n", want: 2048},
		{name: "no unit", text: "MemTotal: 4096\n", want: 4096},
		{name: "no trailing newline", text: "MemTotal:  1 kB", want: 1024},
		{name: "missing", text: "MemFree: 1 kB\n", wantErr: true},
		{name: "empty", text: "", wantErr: true},
		{name: "not a number", text: "MemTotal: lots kB\n", wantErr: true},
		{name: "unknown unit", text: "MemTotal: 1 MB\n", wantErr: true},
		{name: "no value", text: "MemTotal:\n", wantErr: true},
		{name: "overflow", text: "MemTotal: 18446744073709551615 kB\n", wantErr: true},
		{name: "similar key", text: "MemTotalX: 1 kB\nMemTotal: 3 kB\n", want: 3072},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMemTotal([]byte(tt.text))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestDiskFromStatfs(t *testing.T) {
	tests := []struct {
		name              string
		st                syscall.Statfs_t
		wantTotal, wantFr uint64
	}{
		{"frsize", syscall.Statfs_t{Bsize: 8192, Frsize: 4096, Blocks: 100, Bfree: 60, Bavail: 50}, 409600, 204800},
		{"bsize when no frsize", syscall.Statfs_t{Bsize: 4096, Blocks: 10, Bavail: 1}, 40960, 4096},
		{"empty", syscall.Statfs_t{}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			total, free := diskFromStatfs(tt.st)
			if total != tt.wantTotal || free != tt.wantFr {
				t.Errorf("got %d, %d; want %d, %d", total, free, tt.wantTotal, tt.wantFr)
			}
		})
	}
}
