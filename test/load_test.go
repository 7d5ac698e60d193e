package test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
)

// load sends GETs of one URL from several goroutines until stopped,
// counting the answers that are not 200.
type load struct {
	stop          chan struct{}
	wg            sync.WaitGroup
	total, failed atomic.Int64
	first         atomic.Value // the first failure, "status body"
}

// startLoad starts workers goroutines getting url in a loop.
func startLoad(url string, workers int) *load {
	l := &load{stop: make(chan struct{})}
	for range workers {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				if code, b := body(url); code != http.StatusOK {
					l.failed.Add(1)
					l.first.CompareAndSwap(nil, fmt.Sprintf("%d %s", code, b))
				}
				l.total.Add(1)
			}
		})
	}
	return l
}

// finish stops the load and returns the requests sent, those that
// failed and the first failure ("" when none did).
func (l *load) finish() (total, failed int64, first string) {
	close(l.stop)
	l.wg.Wait()
	first, _ = l.first.Load().(string)
	return l.total.Load(), l.failed.Load(), first
}
