// Package clock is time as an input: the Engine's holds and the Agent's
// lease fuse read the time and wait through a Clock, so tests move time
// by hand (clocktest.Fake) instead of sleeping and hoping.
package clock
