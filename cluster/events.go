package cluster

import (
	"sync"

	"github.com/sunomi/sunomi/cluster/wire"
)

// hub fans job changes out to the server-sent event streams following them.
// A slow stream misses intermediate states, never the latest one.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[chan wire.Job]struct{}
}

func newHub() *hub { return &hub{subs: map[string]map[chan wire.Job]struct{}{}} }

func (h *hub) subscribe(job string) chan wire.Job {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan wire.Job, 1)
	if h.subs[job] == nil {
		h.subs[job] = map[chan wire.Job]struct{}{}
	}
	h.subs[job][ch] = struct{}{}
	return ch
}

func (h *hub) unsubscribe(job string, ch chan wire.Job) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[job], ch)
	if len(h.subs[job]) == 0 {
		delete(h.subs, job)
	}
}

func (h *hub) publish(j wire.Job) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[j.ID] {
		select {
		case <-ch: // replace a state the stream has not read yet
		default:
		}
		ch <- j
	}
}
