package agent

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/flota-dev/flota/registry"
)

// DefaultRecordCheck is how often an Agent reads its machine's record
// unasked (Config.RecordCheck): 5,000 machines make 42 reads a second of
// it, and a record deleted from a machine with no units costs nothing but
// new placements until then.
const DefaultRecordCheck = 2 * time.Minute

// checkRecord runs, for one registration, the checks of the machine's
// record (registry.Presence.Check): when kicked, which the session does
// when units leave the machine (the Engine moves the units of a machine
// whose record went), and every RecordCheck, the first at a random moment
// within it so that machines started together do not read together. One
// check runs at a time; kicks during it make one more. It returns the kick.
func (a *Agent) checkRecord(ctx context.Context, p *registry.Presence) (kick func()) {
	kicks := make(chan struct{}, 1)
	period := a.cfg.RecordCheck
	go func() {
		var tick <-chan time.Time
		if period > 0 {
			tick = a.cfg.Clock.After(rand.N(period) + 1)
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-kicks:
			case <-tick:
				tick = a.cfg.Clock.After(period)
			}
			cctx, cancel := context.WithTimeout(ctx, registry.CallTimeout)
			restored, err := p.Check(cctx)
			cancel()
			switch {
			case restored:
				a.log.Warn("machine record written back: something else had deleted or changed it", "machine", a.cfg.MachineID)
			case err != nil && ctx.Err() == nil:
				a.log.Debug("machine record check failed", "machine", a.cfg.MachineID, "err", err)
			}
		}
	}()
	return func() {
		select {
		case kicks <- struct{}{}:
		default:
		}
	}
}
