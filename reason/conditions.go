package reason

// Condition is why an Agent holds a placed unit back from its machine's
// systemd: a code of flota's own, published in the unit's state beside
// systemd's LOAD, ACTIVE and SUB of the name, never disguised as them.
// While a unit has one, the Agent did not load it, and those say so
// (not-found, inactive, dead). Its Detail says the rest: the image, the
// error.
type Condition string

const (
	// ConditionPullingImage: the unit waits for its image, which the Agent is
	// pulling. Detail: the image.
	ConditionPullingImage Condition = "pulling-image"
	// ConditionImagePullFailed: the pull of its image ended in an error. Detail:
	// the error. The Agent pulls again, backing off; an image that does
	// not exist stays missing.
	ConditionImagePullFailed Condition = "image-pull-failed"
	// ConditionContainerFailed: its container could not be prepared (a file the
	// runtime refuses, a snapshot, a volume). Detail: the error.
	ConditionContainerFailed Condition = "container-prepare-failed"
	// ConditionNoContainerRuntime: a container unit on a machine that runs none.
	ConditionNoContainerRuntime Condition = "no-container-runtime"
	// ConditionNameTaken: the machine has a unit of its own by that name; the
	// Engine places the unit elsewhere. Detail: the file.
	ConditionNameTaken Condition = "name-taken"
)

// Failed says whether c is a failure of the unit on its machine that
// waiting will not mend: what a blocking flotactl start stops on. A
// pulling image is a wait, and a taken name makes the Engine move the
// unit elsewhere.
func (c Condition) Failed() bool {
	switch c {
	case ConditionImagePullFailed, ConditionContainerFailed, ConditionNoContainerRuntime:
		return true
	}
	return false
}
