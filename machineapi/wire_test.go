package machineapi

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestFrames(t *testing.T) {
	var b bytes.Buffer
	fw := NewFrameWriter(&b)
	big := bytes.Repeat([]byte("x"), MaxFrame+10)
	for _, f := range []Frame{{FrameStdout, []byte("hello\n")}, {FrameResize, Size(40, 120)}, {FrameExit, Exit(-3)}, {FrameStdin, big}} {
		if err := fw.Write(f.Type, f.Payload); err != nil {
			t.Fatal(err)
		}
	}
	read := func() Frame {
		t.Helper()
		f, err := ReadFrame(&b)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, tt := range []struct {
		name string
		test func(Frame) bool
	}{
		{"stdout", func(f Frame) bool { return f.Type == FrameStdout && string(f.Payload) == "hello\n" }},
		{"resize", func(f Frame) bool {
			r, c, err := ParseSize(f.Payload)
			return f.Type == FrameResize && r == 40 && c == 120 && err == nil
		}},
		{"a negative exit status", func(f Frame) bool {
			s, err := ParseExit(f.Payload)
			return f.Type == FrameExit && s == -3 && err == nil
		}},
		{"a payload over MaxFrame, split", func(f Frame) bool { return f.Type == FrameStdin && len(f.Payload) == MaxFrame }},
		{"its rest", func(f Frame) bool { return f.Type == FrameStdin && len(f.Payload) == 10 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if f := read(); !tt.test(f) {
				t.Errorf("frame %d with %d bytes", f.Type, len(f.Payload))
			}
		})
	}
	if _, err := ReadFrame(&b); err != io.EOF {
		t.Errorf("after the last frame: %v, want EOF", err)
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{4, 0xff, 0xff, 0xff, 0xff})); !errors.Is(err, ErrFrame) {
		t.Errorf("a 4 GiB frame: %v, want ErrFrame", err)
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{4, 0, 0, 0, 9, 'a'})); !errors.Is(err, ErrFrame) {
		t.Errorf("a cut frame: %v, want ErrFrame", err)
	}
}
