package nginx

import (
	"io"
	"sort"
	"strings"
	"sync"

	crossplane "github.com/nginxinc/nginx-go-crossplane"
)

// maxShardedMain is the largest main file a sharded read accepts: every
// shard reads the main file again, which pays only while it is small next
// to what it includes.
const maxShardedMain = 1 << 20

// minShardedAverage is the average size of the main file's direct includes
// below which a sharded read does not pay (see parseSharded).
const minShardedAverage = 256

// parseSharded reads the files the main config includes in parallel, with
// the same result as one crossplane.Parse. crossplane lexes one rune at a
// time and reads the files one after another; on a config of thousands
// of files that is most of lbdoctor's time, and other CPUs sit idle.
//
// Each of the workers parses the main file with all its includes, except
// that the main file's direct includes that belong to another worker read
// as empty files. What a worker reads is then exactly what one parse reads
// of those files: the direct includes are queued from the main file in
// every worker, in the same order and context, and their own includes in
// the same relative order. It returns ok == false whenever that argument
// does not hold, and the caller reads the serial way: a file reached from
// the includes of two workers (one parse would give it the context of the
// first), an include cycle (crossplane refuses those as a whole), or any
// error crossplane returns.
func parseSharded(path string, fs *files, workers int) (units []unit, errs []crossplane.PayloadError, ok bool) {
	if workers < 2 {
		return nil, nil, false
	}
	if st := fs.stat(path); st.err != nil || st.size > maxShardedMain {
		return nil, nil, false
	}
	// Which files does the main file include? Read it with every other
	// file empty.
	first, err := crossplane.Parse(path, shardOptions(fs, path, func(string) bool { return false }))
	if err != nil || len(first.Config) < 3 {
		return nil, nil, false
	}
	owner, bytes := assign(fs, first.Config[1:], workers)
	// Every worker pays for each direct include, its own or not; that pays
	// off only when the files hold enough to parse. 100,000 empty files
	// read in three parses took 60% more memory for no time saved.
	if bytes/int64(len(first.Config)-1) < minShardedAverage {
		return nil, nil, false
	}

	payloads := make([]*crossplane.Payload, workers)
	failed := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			own := func(name string) bool {
				o, direct := owner[name]
				return !direct || o == w
			}
			payloads[w], failed[w] = crossplane.Parse(path, shardOptions(fs, path, own))
		})
	}
	wg.Wait()
	for _, err := range failed {
		if err != nil {
			return nil, nil, false
		}
	}

	// One unit per file, from the worker that read it.
	index := map[string]int{}
	read := make([][]int, workers)
	for w, p := range payloads {
		for i, c := range p.Config {
			if o, direct := owner[c.File]; (i == 0 && w > 0) || (direct && o != w) {
				continue
			}
			if _, dup := index[c.File]; dup {
				return nil, nil, false
			}
			index[c.File] = len(units)
			units = append(units, unit{name: c.File, dirs: c.Parsed})
			read[w] = append(read[w], i)
		}
	}
	// Each worker numbered the files in its own order; renumber its
	// include directives to the merged list.
	for w, p := range payloads {
		global := make([]int, len(p.Config))
		for i, c := range p.Config {
			g, found := index[c.File]
			if !found {
				return nil, nil, false
			}
			global[i] = g
		}
		for _, i := range read[w] {
			relink(p.Config[i].Parsed, global)
		}
		for _, pe := range p.Errors {
			if o, direct := owner[pe.File]; (pe.File == path && w > 0) || (direct && o != w) {
				continue
			}
			errs = append(errs, pe)
		}
	}
	if cyclic(units) {
		return nil, nil, false
	}
	return units, errs, true
}

// shardOptions are crossplane's options for one worker: files it does not
// own read as empty, after the same checks a real open makes, so that a
// missing include fails the same way in every worker.
func shardOptions(fs *files, main string, own func(name string) bool) *crossplane.ParseOptions {
	opts := crossplaneOptions(fs)
	opts.Open = func(name string) (io.ReadCloser, error) {
		if name == main || own(name) {
			return fs.open(name)
		}
		if msg := fs.check(name); msg != "" {
			return fs.open(name)
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	return opts
}

// assign gives each direct include of the main file to a worker, the
// biggest first to the least loaded, so that the workers finish together.
// It returns the owners and how many bytes the files hold.
func assign(fs *files, direct []crossplane.Config, workers int) (owner map[string]int, bytes int64) {
	type file struct {
		name string
		size int64
	}
	all := make([]file, 0, len(direct))
	for _, c := range direct {
		f := file{name: c.File}
		f.size = fs.stat(c.File).size
		all = append(all, f)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].size > all[j].size })
	load := make([]int64, workers)
	owner = make(map[string]int, len(all))
	for _, f := range all {
		bytes += f.size
		least := 0
		for w := range load {
			if load[w] < load[least] {
				least = w
			}
		}
		owner[f.name] = least
		load[least] += f.size + 1
	}
	return owner, bytes
}

// relink renumbers every include directive in dirs through global.
func relink(dirs crossplane.Directives, global []int) {
	for _, d := range dirs {
		for i, n := range d.Includes {
			if n >= 0 && n < len(global) {
				d.Includes[i] = global[n]
			}
		}
		relink(d.Block, global)
	}
}

// cyclic reports whether the merged files include each other in a circle,
// which one crossplane parse would have refused.
func cyclic(units []unit) bool {
	const (
		unvisited = iota
		active
		done
	)
	state := make([]int, len(units))
	var visit func(i int) bool
	visit = func(i int) bool {
		state[i] = active
		found := false
		walkIncludes(units[i].dirs, func(n int) {
			if found || n < 0 || n >= len(units) {
				return
			}
			switch state[n] {
			case active:
				found = true
			case unvisited:
				found = visit(n)
			}
		})
		state[i] = done
		return found
	}
	for i := range units {
		if state[i] == unvisited && visit(i) {
			return true
		}
	}
	return false
}

func walkIncludes(dirs crossplane.Directives, fn func(int)) {
	for _, d := range dirs {
		for _, n := range d.Includes {
			fn(n)
		}
		walkIncludes(d.Block, fn)
	}
}
