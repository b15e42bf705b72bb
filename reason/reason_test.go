package reason

import (
	"fmt"
	"testing"
)

func filters(fs ...Filter) []Filter { return fs }

func f(n int, c Code, args ...string) Filter { return Filter{Code: c, Args: args, Machines: n} }

// TestWords: every code is worded here and only here; these are the
// sentences flotactl shows.
func TestWords(t *testing.T) {
	tests := []struct {
		name string
		r    Unplaced
		want string
	}{
		{"placed", Unplaced{}, ""},
		{"no machines", Unplaced{Code: NoMachines}, "no machines registered"},
		{"conflicts", Unplaced{Code: NoEligible, Filters: filters(f(3, Conflicts, "nginx@*"))},
			`no eligible machine among 3: Conflicts "nginx@*" filtered 3 machines`},
		{"several rules, the total is their sum", Unplaced{Code: NoEligible, Filters: filters(
			f(2, ExceedsCapacity, "memory", "8589934592"), f(1, MachineMetadata, "size=big"))},
			`no eligible machine among 3: insufficient memory (8 GiB asked, more than the machine has) filtered 2 machines; ` +
				`MachineMetadata "size=big" filtered 1 machine`},
		{"insufficient CPU", Unplaced{Code: NoEligible, Filters: filters(f(1, Insufficient, "CPU", "100"))},
			"no eligible machine among 1: insufficient CPU (0.1 CPUs asked) filtered 1 machine"},
		{"insufficient disk", Unplaced{Code: NoEligible, Filters: filters(f(1, Insufficient, "disk", "1"))},
			"no eligible machine among 1: insufficient disk (1 B asked) filtered 1 machine"},
		{"the rest of fleet's rules", Unplaced{Code: NoEligible, Filters: filters(
			f(1, MachineID, "m9"), f(1, MachineOf, "db.service"), f(1, MachineOfUnplaced, "ghost.service"),
			f(1, ReplacedBy, "new.service"), f(1, ConflictsOf, "web@*", "web@1.service"))},
			`no eligible machine among 5: MachineID "m9" filtered 1 machine; MachineOf "db.service" filtered 1 machine; ` +
				`MachineOf "ghost.service" (not placed) filtered 1 machine; replaced by new.service filtered 1 machine; ` +
				`Conflicts "web@*" of web@1.service filtered 1 machine`},
		{"distinct", Unplaced{Code: NoEligible, Filters: filters(f(4, DistinctBy, "zone:2"), f(1, DistinctByNoKey, "zone:2", "zone"))},
			`no eligible machine among 5: DistinctBy "zone:2" filtered 4 machines; DistinctBy "zone:2" (no zone) filtered 1 machine`},
		{"on a gone machine", Unplaced{Code: OnGoneMachine, Args: []string{"m1"}, Filters: filters(f(1, Conflicts, "web@*"))},
			`placed on m1, which is gone; no eligible machine among 1: Conflicts "web@*" filtered 1 machine`},
		{"on a gone machine, no other", Unplaced{Code: OnGoneMachine, Args: []string{"m1"}},
			"placed on m1, which is gone; no machines registered"},
		{"template", Unplaced{Code: Template, Args: []string{"web@1.service"}},
			"a template is never placed: start an instance such as web@1.service"},
		{"invalid", Unplaced{Code: Invalid, Args: []string{"line 3: bad"}}, "line 3: bad"},
		{"cycle", Unplaced{Code: ReplacesCycle, Args: []string{"a.service", "b.service", "a.service"}},
			"Replaces cycle: a.service -> b.service -> a.service"},
		{"a code newer than this flotactl", Unplaced{Code: "from-the-future", Args: []string{"x"}}, "from-the-future x"},
		{"a record missing its argument", Unplaced{Code: Template}, "a template is never placed: start an instance such as ?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestEncodeDecode(t *testing.T) {
	t.Run("a record reads back equal", func(t *testing.T) {
		r := Unplaced{Code: NoEligible, Filters: filters(f(2, Conflicts, "a"), f(1, Insufficient, "memory", "1"))}
		got := Decode(Encode(r))
		if !got.Equal(r) {
			t.Fatalf("got %+v, want %+v", got, r)
		}
	})
	t.Run("the stored form is stable", func(t *testing.T) {
		r := Unplaced{Code: NoEligible, Filters: filters(f(3, DistinctBy, "rack"))}
		if got, want := string(Encode(r)), `{"code":"no-eligible","filters":[{"code":"distinct-by","args":["rack"]}]}`; got != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("counts are not stored, and a count that changed is no change of meaning", func(t *testing.T) {
		a := Unplaced{Code: NoEligible, Filters: filters(f(3, DistinctBy, "rack"), f(1, Conflicts, "x"))}
		b := Unplaced{Code: NoEligible, Filters: filters(f(1, DistinctBy, "rack"), f(7, Conflicts, "x"))}
		if !a.Equal(b) || string(Encode(a)) != string(Encode(b)) {
			t.Fatalf("%s and %s differ", Encode(a), Encode(b))
		}
		c := Unplaced{Code: NoEligible, Filters: filters(f(3, DistinctBy, "rack"), f(1, Conflicts, "y"))}
		d := Unplaced{Code: NoEligible, Filters: filters(f(3, DistinctBy, "rack"))}
		if a.Equal(c) || a.Equal(d) {
			t.Fatal("records of other rules compare equal")
		}
		stored := Decode(Encode(a))
		if stored.Counted() || !a.Counted() {
			t.Fatalf("Counted: stored %v, counted %v", stored.Counted(), a.Counted())
		}
		if got, want := stored.String(), `no eligible machine: Conflicts "x"; DistinctBy "rack"`; got != want {
			t.Fatalf("uncounted words %q, want %q", got, want)
		}
	})
	t.Run("words an older Engine stored read as they were", func(t *testing.T) {
		got := Decode([]byte(`no eligible machine among 3: Conflicts "x" filtered 3 machines`))
		if got.Code != Text || got.String() != `no eligible machine among 3: Conflicts "x" filtered 3 machines` {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("a brace that is not a record is text", func(t *testing.T) {
		if got := Decode([]byte(`{not json`)); got.Code != Text {
			t.Fatalf("got %+v", got)
		}
	})
}

func TestCount(t *testing.T) {
	got := Count([]Refusal{
		Refuse(MachineMetadata, "zone=dmz"),
		Refuse(Conflicts, "b"),
		{},
		Refuse(Conflicts, "a"),
		Refuse(Conflicts, "b"),
		Refuse(MachineMetadata, "zone=dmz"),
		Refuse(Conflicts, "b"),
	})
	want := Unplaced{Code: NoEligible, Filters: filters(f(3, Conflicts, "b"), f(2, MachineMetadata, "zone=dmz"), f(1, Conflicts, "a"))}
	if fmt.Sprint(got) != fmt.Sprint(want.Filters) {
		t.Fatalf("got %+v, want %+v (most machines first, then code and arguments; accepting refusals not counted)", got, want.Filters)
	}
	if n := want.Machines(); n != 6 {
		t.Fatalf("Machines() = %d, want 6", n)
	}
}

func TestLasting(t *testing.T) {
	for c, want := range map[Code]bool{
		MachineID: true, MachineMetadata: true, ExceedsCapacity: true, DistinctByNoKey: true,
		Insufficient: false, Conflicts: false, ConflictsOf: false, DistinctBy: false, MachineOf: false, ReplacedBy: false,
	} {
		if got := c.Lasting(); got != want {
			t.Errorf("%s.Lasting() = %v, want %v", c, got, want)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{FormatBytes(0), "0 B"},
		{FormatBytes(1023), "1023 B"},
		{FormatBytes(1024), "1 KiB"},
		{FormatBytes(1536), "1.5 KiB"},
		{FormatBytes(512 << 20), "512 MiB"},
		{FormatBytes(1<<30 + 1<<29), "1.5 GiB"},
		{FormatBytes(10 << 40), "10 TiB"},
		{FormatBytes(1 << 62), "4 EiB"},
		{FormatBytes(1<<64 - 1), "16 EiB"},
		{FormatCPUs(1), "0.001 CPUs"},
		{FormatCPUs(500), "0.5 CPUs"},
		{FormatCPUs(1000), "1 CPU"},
		{FormatCPUs(1500), "1.5 CPUs"},
		{FormatCPUs(64000), "64 CPUs"},
		{Amount("memory", "536870912"), "512 MiB"},
		{Amount("CPU", "600"), "0.6 CPUs"},
		{Amount("disk", "junk"), "junk"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestUnplacedLasting(t *testing.T) {
	for _, tt := range []struct {
		name string
		u    Unplaced
		want bool
	}{
		{"every filter lasting", Unplaced{Code: NoEligible, Filters: []Filter{{Code: MachineMetadata}, {Code: MachineID}}}, true},
		{"one that waits for room", Unplaced{Code: NoEligible, Filters: []Filter{{Code: MachineMetadata}, {Code: Conflicts}}}, false},
		{"no machines yet", Unplaced{Code: NoMachines}, false},
		{"no filters", Unplaced{Code: NoEligible}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.u.Lasting(); got != tt.want {
				t.Errorf("Lasting() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConditionFailed(t *testing.T) {
	for c, want := range map[Condition]bool{
		ConditionPullingImage: false, ConditionNameTaken: false,
		ConditionImagePullFailed: true, ConditionContainerFailed: true, ConditionNoContainerRuntime: true,
	} {
		if got := c.Failed(); got != want {
			t.Errorf("%s.Failed() = %v, want %v", c, got, want)
		}
	}
}
