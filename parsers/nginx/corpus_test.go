package nginx

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// corpusDir is the shared real-world corpus, from LBDOCTOR_CORPUS or next
// to the repository.
func corpusDir(t *testing.T) string {
	dir := os.Getenv("LBDOCTOR_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus")
	}
	if _, err := os.Stat(filepath.Join(dir, "SOURCES.md")); err != nil {
		t.Skipf("no corpus at %s (set LBDOCTOR_CORPUS): %v", dir, err)
	}
	return dir
}

// corpusRow is one nginx row of SOURCES.md.
type corpusRow struct {
	file     string // under corpus/nginx/
	accepted bool   // nginx -t accepted it, maybe with stand-ins
	fragment bool   // checked as a sites-enabled include of Debian's nginx.conf
}

func corpusRows(t *testing.T, dir string) []corpusRow {
	f, err := os.Open(filepath.Join(dir, "SOURCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []corpusRow
	inNginx := false
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			inNginx = strings.HasPrefix(line, "## nginx")
			continue
		}
		if !inNginx || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, " | ")
		check := strings.TrimSuffix(cells[len(cells)-1], " |")
		if strings.Contains(check, "(included by") {
			continue
		}
		fragment := strings.HasPrefix(check, "[tested as an http{} include")
		if fragment {
			check = strings.TrimSpace(check[strings.Index(check, "]")+1:])
		}
		rows = append(rows, corpusRow{
			file:     strings.Trim(cells[0], "| `"),
			accepted: strings.HasPrefix(check, "yes"),
			fragment: fragment,
		})
	}
	if len(rows) == 0 {
		t.Fatal("no nginx rows in SOURCES.md")
	}
	return rows
}

// debianRoot makes a root holding Debian's /etc/nginx from the corpus, with
// sites-enabled emptied, the way SOURCES.md checked single files.
func debianRoot(t *testing.T, corpus string) string {
	root := t.TempDir()
	copyTree(t, filepath.Join(corpus, "nginx", "debian-nginx__etc_nginx"), root, filepath.Join("etc", "nginx", "sites-enabled")+"/")
	return root
}

// copyTree copies src to dst, leaving out paths starting with skip. The
// corpus stores symlinks as small files holding the link's target (as git
// does where links cannot be made); copyTree makes them links again, since
// nginx follows the link on a real host.
func copyTree(t *testing.T, src, dst, skip string) {
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if skip != "" && strings.HasPrefix(rel, skip) {
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if target := string(data); len(data) < 256 && !strings.ContainsAny(target, " \n;{") && strings.HasPrefix(target, ".") {
			if fi, err := os.Stat(filepath.Join(filepath.Dir(p), target)); err == nil && fi.Mode().IsRegular() {
				return os.Symlink(target, filepath.Join(dst, rel))
			}
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCorpus parses every corpus config nginx accepted and wants no error:
// a config error we report there is a false positive.
func TestCorpus(t *testing.T) {
	corpus := corpusDir(t)
	var accepted, clean, rejected, flagged, listeners int
	for _, row := range corpusRows(t, corpus) {
		path, opts := "", Options{}
		src := filepath.Join(corpus, "nginx", row.file)
		switch {
		case row.fragment || !strings.Contains(row.file, "/"):
			// Single files went to /etc/nginx on a Debian host: as a
			// sites-enabled include of the stock nginx.conf, or as a
			// main config next to mime.types and friends.
			root := debianRoot(t, corpus)
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			path = "/etc/nginx/lbcheck.conf"
			if row.fragment {
				path = "/etc/nginx/nginx.conf"
				if err := os.WriteFile(filepath.Join(root, "etc/nginx/sites-enabled", filepath.Base(row.file)), data, 0o644); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(filepath.Join(root, path), data, 0o644); err != nil {
				t.Fatal(err)
			}
			opts.Root = parsers.Root(root)
		case strings.Contains(row.file, "/etc/nginx/"):
			set, _, _ := strings.Cut(row.file, "/etc/nginx/")
			root := t.TempDir()
			copyTree(t, filepath.Join(corpus, "nginx", set), root, "")
			opts.Root = parsers.Root(root)
			path = "/etc/nginx/" + strings.TrimPrefix(row.file, set+"/etc/nginx/")
		default:
			path = src
		}
		cfg, err := Parse(path, opts)
		if err != nil {
			t.Errorf("%s: %v", row.file, err)
			continue
		}
		if !row.accepted {
			rejected++
			if len(cfg.Errors) > 0 {
				flagged++
				t.Logf("%s (rejected by nginx): %v", row.file, cfg.Errors[0])
			}
			continue
		}
		accepted++
		listeners += len(cfg.Listeners)
		if len(cfg.Errors) == 0 {
			clean++
		}
		for _, e := range cfg.Errors {
			t.Errorf("%s (accepted by nginx): %v", row.file, e)
		}
	}
	t.Logf("corpus: %d configs nginx accepts, %d parsed with no error (%d listeners); %d nginx rejects, %d of them with an error from us",
		accepted, clean, listeners, rejected, flagged)
}
