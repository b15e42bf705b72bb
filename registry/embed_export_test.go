package registry

// KillForTest stops an embedded member as a crash would: at once, without
// handing its leadership to another member, so the others wait out an
// election timeout before they can write again. Its listeners close after.
func KillForTest(e *Embedded) {
	e.e.Server.HardStop()
	e.Close()
}
