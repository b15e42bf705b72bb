package reason

import "testing"

func TestMovedWords(t *testing.T) {
	tests := []struct {
		m    Moved
		want string
	}{
		{Moved{Code: RebalanceSpread, Args: []string{"pod", "a", "b", "3", "1", "2", "2"}}, "rebalance: spread over pod (a–b) improved from 3–1 to 2–2"},
		{Moved{Code: RebalanceSoftConflicts, Args: []string{"2", "0"}}, "rebalance: units it soft-conflicts with on its machine down from 2 to 0"},
		{Moved{Code: RebalancePrefer, Args: []string{"0", "50"}}, "rebalance: PreferMachineMetadata score up from 0 to 50"},
		{Moved{Code: RebalanceLoad, Args: []string{"9", "3", "8", "4"}}, "rebalance: load evened from 9–3 to 8–4 units"},
		{Moved{Code: RebalanceSkew, Args: []string{"zone:1:anyway", "2", "0"}}, `rebalance: MaxSkew "zone:1:anyway" exceeded by 2 before, 0 after`},
		{Moved{Code: "future-code", Args: []string{"x"}}, "future-code x"},
		{Moved{}, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.m.Code), func(t *testing.T) {
			if got := tt.m.String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	if !tests[0].m.Equal(Moved{Code: RebalanceSpread, Args: []string{"pod", "a", "b", "3", "1", "2", "2"}}) || tests[0].m.Equal(tests[1].m) {
		t.Error("Equal")
	}
}
