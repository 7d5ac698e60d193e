package lifecycle

import (
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/supervise"
)

// Event is something that happened to a process of the app.
type Event struct {
	Time    time.Time `json:"time"`
	Process string    `json:"process"`
	Message string    `json:"message"`
}

// maxEvents bounds the events kept.
const maxEvents = 1000

// eventLog keeps the latest events and prints each one.
type eventLog struct {
	sink supervise.Sink

	mu     sync.Mutex
	events []Event
}

// add records a supervisor's event.
func (l *eventLog) add(e supervise.Event) {
	l.record(Event{Time: e.Time, Process: e.Name, Message: e.String()})
}

// note records an event of this run's own about process.
func (l *eventLog) note(process, msg string) {
	l.record(Event{Time: time.Now(), Process: process, Message: process + ": " + msg})
}

func (l *eventLog) record(e Event) {
	l.mu.Lock()
	if len(l.events) == maxEvents {
		l.events = append(l.events[:0], l.events[1:]...)
	}
	l.events = append(l.events, e)
	l.mu.Unlock()
	l.sink.Line(supervise.Line{Name: upName, Time: e.Time, Text: e.Message})
}
