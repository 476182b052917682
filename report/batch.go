package report

import (
	"bytes"
	"io"
	"runtime"
	"sync"
)

// textWriter is what the renderers write to: the report's buffered output,
// or one batch's buffer.
type textWriter interface {
	io.Writer
	io.StringWriter
}

// inBatches writes n items to w in order, rendering a batch of them at a
// time split over the CPUs. A BACKUP node of a big load balancer has tens
// of thousands of failing listeners, each a finding of several formatted
// lines: rendered one by one that was a fifth of lbdoctor's run, while the
// other CPUs sat idle. Batches bound the memory to a few thousand items.
// render must only read shared state; with workers == 1 everything is
// rendered in place, in this goroutine.
func inBatches(w textWriter, n, workers int, render func(b textWriter, i int)) {
	const batch = 4096
	if workers <= 1 || n < 512 {
		for i := range n {
			render(w, i)
		}
		return
	}
	bufs := make([]bytes.Buffer, workers)
	for lo := 0; lo < n; lo += batch {
		hi := min(n, lo+batch)
		var wg sync.WaitGroup
		for k := range workers {
			from, to := lo+(hi-lo)*k/workers, lo+(hi-lo)*(k+1)/workers
			wg.Go(func() {
				bufs[k].Reset()
				for i := from; i < to; i++ {
					render(&bufs[k], i)
				}
			})
		}
		wg.Wait()
		for k := range bufs {
			w.Write(bufs[k].Bytes()) // a write error sticks in w, which reports it at Flush
		}
	}
}

// renderWorkers is how many goroutines render a report: styles with
// colour go through lipgloss, which is not meant to be shared, so a
// coloured report (a terminal's, small) renders in one.
func renderWorkers(color bool) int {
	if color {
		return 1
	}
	return runtime.GOMAXPROCS(0)
}
