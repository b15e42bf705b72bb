package reason

import "testing"

func TestNoteWords(t *testing.T) {
	tests := []struct {
		n    Note
		want string
	}{
		{Note{Code: SoftConflictsShared, Args: []string{"web@2.service", "web@3.service"}}, "SoftConflicts: shares its machine with web@2.service, web@3.service"},
		{Note{Code: SpreadUneven, Args: []string{"rack", "r1"}}, "spread over rack: rack=r1 holds more of the group than its share"},
		{Note{Code: SpreadUneven, Args: []string{"rack"}}, "spread over rack: the machine has no rack"},
		{Note{Code: PreferUnmet, Args: []string{"disk=ssd"}}, `PreferMachineMetadata "disk=ssd": not met`},
		{Note{Code: AvoidMatched, Args: []string{"zone=~^eu-"}}, `PreferMachineMetadata "zone=~^eu-": met, and avoided`},
		{Note{Code: SkewExceeded, Args: []string{"zone:1:anyway", "zone=a"}}, `MaxSkew "zone:1:anyway": zone=a is above the skew`},
	}
	for _, tt := range tests {
		t.Run(string(tt.n.Code), func(t *testing.T) {
			if got := tt.n.String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	if got := Notes([]Note{tests[3].n, tests[4].n}); got != tests[3].want+"; "+tests[4].want {
		t.Errorf("Notes joined %q", got)
	}
}

func TestNotesEncodeDecode(t *testing.T) {
	ns := []Note{{Code: SoftConflictsShared, Args: []string{"a"}}, {Code: PreferUnmet, Args: []string{"disk=ssd"}}}
	if got := DecodeNotes(EncodeNotes(ns)); !NotesEqual(got, ns) {
		t.Fatalf("got %+v, want %+v", got, ns)
	}
	if got := DecodeNotes([]byte("not json")); len(got) != 1 || got[0].Code != Text || got[0].String() != "not json" {
		t.Fatalf("got %+v", got)
	}
	if !NotesEqual(nil, []Note{}) {
		t.Fatal("no notes and an empty list differ")
	}
}
