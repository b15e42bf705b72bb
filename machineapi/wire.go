package machineapi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sync"
)

// ExitTrailer carries the exit status of the command whose output a
// status or journal answer streamed.
const ExitTrailer = "X-Flota-Exit"

// ExecProtocol is the Upgrade token of an exec stream.
const ExecProtocol = "flota-exec/1"

// StatusPath, JournalPath and ExecPath are the agent API's unit endpoints.
func StatusPath(unit string) string  { return "/v1/units/" + url.PathEscape(unit) + "/status" }
func JournalPath(unit string) string { return "/v1/units/" + url.PathEscape(unit) + "/journal" }
func ExecPath(unit string) string    { return "/v1/units/" + url.PathEscape(unit) + "/exec" }

// FrameType says what a Frame carries.
type FrameType byte

const (
	FrameStdin      FrameType = 1 // client → agent: bytes for the command's stdin
	FrameCloseStdin FrameType = 2 // client → agent: its stdin ended
	FrameResize     FrameType = 3 // client → agent: the terminal's size, rows and columns (2 bytes each, big-endian)
	FrameStdout     FrameType = 4 // agent → client
	FrameStderr     FrameType = 5 // agent → client (not with a TTY: a terminal has one output)
	FrameExit       FrameType = 6 // agent → client, last: the exit status (4 bytes, big-endian, signed)
	FrameError      FrameType = 7 // agent → client, last: why the command could not run
)

// MaxFrame bounds a frame's payload; a larger one is refused as a broken
// stream.
const MaxFrame = 1 << 20

// ErrFrame is a stream that breaks the framing.
var ErrFrame = errors.New("exec stream: bad frame")

// Frame is one message of an exec stream: a type byte, a 4-byte
// big-endian length, the payload.
type Frame struct {
	Type    FrameType
	Payload []byte
}

// ReadFrame reads the next Frame from r.
func ReadFrame(r io.Reader) (Frame, error) {
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(head[1:])
	if n > MaxFrame {
		return Frame{}, fmt.Errorf("%w: %d bytes", ErrFrame, n)
	}
	f := Frame{Type: FrameType(head[0]), Payload: make([]byte, n)}
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		return Frame{}, fmt.Errorf("%w: %w", ErrFrame, err)
	}
	return f, nil
}

// FrameWriter writes Frames to one stream from several goroutines (stdout
// and stderr), a frame at a time.
type FrameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewFrameWriter writes frames to w.
func NewFrameWriter(w io.Writer) *FrameWriter { return &FrameWriter{w: w} }

// Write sends one frame.
func (fw *FrameWriter) Write(t FrameType, payload []byte) error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	for len(payload) > MaxFrame {
		if err := fw.write(t, payload[:MaxFrame]); err != nil {
			return err
		}
		payload = payload[MaxFrame:]
	}
	return fw.write(t, payload)
}

func (fw *FrameWriter) write(t FrameType, payload []byte) error {
	var head [5]byte
	head[0] = byte(t)
	binary.BigEndian.PutUint32(head[1:], uint32(len(payload)))
	if _, err := fw.w.Write(append(head[:], payload...)); err != nil {
		return err
	}
	return nil
}

// Stream is an io.Writer that sends what is written as frames of type t.
func (fw *FrameWriter) Stream(t FrameType) io.Writer { return streamWriter{fw, t} }

type streamWriter struct {
	fw *FrameWriter
	t  FrameType
}

func (s streamWriter) Write(p []byte) (int, error) {
	if err := s.fw.Write(s.t, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Size encodes a terminal size as a FrameResize payload.
func Size(rows, cols uint16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, rows), cols)
}

// ParseSize decodes a FrameResize payload.
func ParseSize(p []byte) (rows, cols uint16, err error) {
	if len(p) != 4 {
		return 0, 0, fmt.Errorf("%w: resize of %d bytes, want 4", ErrFrame, len(p))
	}
	return binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:]), nil
}

// Exit encodes an exit status as a FrameExit payload.
func Exit(status int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(int32(status))) }

// ParseExit decodes a FrameExit payload.
func ParseExit(p []byte) (int, error) {
	if len(p) != 4 {
		return 0, fmt.Errorf("%w: exit status of %d bytes, want 4", ErrFrame, len(p))
	}
	return int(int32(binary.BigEndian.Uint32(p))), nil
}
