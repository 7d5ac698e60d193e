package lifecycle

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/adminapi"
	"github.com/pylon-mesh/pylon/supervise"
)

// maxEvents bounds the events kept.
const maxEvents = 1000

// eventLog keeps the latest events and prints each one.
type eventLog struct {
	sink supervise.Sink

	mu     sync.Mutex
	events []adminapi.Event
}

// add records a supervisor's event.
func (l *eventLog) add(e supervise.Event) {
	l.record(adminapi.Event{Time: e.Time, Process: e.Name, Message: strings.TrimPrefix(e.String(), e.Name+": ")})
}

// note records an event of this run's own about process.
func (l *eventLog) note(process, msg string) {
	l.record(adminapi.Event{Time: time.Now(), Process: process, Message: msg})
}

// list returns the events kept, oldest first.
func (l *eventLog) list() []adminapi.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

func (l *eventLog) record(e adminapi.Event) {
	l.mu.Lock()
	if len(l.events) == maxEvents {
		l.events = append(l.events[:0], l.events[1:]...)
	}
	l.events = append(l.events, e)
	l.mu.Unlock()
	l.sink.Line(supervise.Line{Name: upName, Time: e.Time, Text: e.Process + ": " + e.Message})
}
