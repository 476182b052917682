package directive

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

func TestScan(t *testing.T) {
	data := []byte(`server {
    # lbdoctor:ignore LBD401 the VIP is added by our orchestrator first
    listen 10.0.0.100:80;
    listen 10.0.0.101:80; # lbdoctor:ignore LBD101,LBD2* moved next week
    listen 10.0.0.102:80; # lbdoctor:ignore
    server_name "lbdoctor:ignore LBD101 not a comment";
}
! lbdoctor:ignore LBD501 keepalived comment
`)
	got := Scan("/etc/x.conf", data)
	want := []Ignore{
		{Pos: parsers.Pos{File: "/etc/x.conf", Line: 2}, IDs: []string{"LBD401"}, Reason: "the VIP is added by our orchestrator first", Own: true},
		{Pos: parsers.Pos{File: "/etc/x.conf", Line: 4}, IDs: []string{"LBD101", "LBD2*"}, Reason: "moved next week"},
		{Pos: parsers.Pos{File: "/etc/x.conf", Line: 5}},
		{Pos: parsers.Pos{File: "/etc/x.conf", Line: 8}, IDs: []string{"LBD501"}, Reason: "keepalived comment", Own: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Scan:\n got %+v\nwant %+v", got, want)
	}
	if !got[0].Covers(3) || got[0].Covers(2) || !got[1].Covers(4) || got[1].Covers(5) {
		t.Error("Covers: an own-line directive covers the next line, a trailing one its own")
	}
}

// TestScanLongLines: a directive after a line longer than any buffer is
// still found, on its line, whether the file is scanned in memory or
// streamed (a 16 MB line used to end the scan silently).
func TestScanLongLines(t *testing.T) {
	long := strings.Repeat("a", 3*readBuf+17)
	data := []byte("# " + long + "\r\nlisten 80; # lbdoctor:ignore LBD101 after a long line\r\n" + long + " # lbdoctor:ignore LBD2* at the end of a long line")
	want := []Ignore{
		{Pos: parsers.Pos{File: "f", Line: 2}, IDs: []string{"LBD101"}, Reason: "after a long line"},
		{Pos: parsers.Pos{File: "f", Line: 3}, IDs: []string{"LBD2*"}, Reason: "at the end of a long line"},
	}
	if got := Scan("f", data); !reflect.DeepEqual(got, want) {
		t.Errorf("Scan:\n got %+v\nwant %+v", got, want)
	}
	got, err := scanReader("f", bytes.NewReader(data))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("scanReader: %v\n got %+v\nwant %+v", err, got, want)
	}
}

func FuzzScan(f *testing.F) {
	f.Add([]byte("listen 80; # lbdoctor:ignore LBD101 why\n"))
	f.Add([]byte("#lbdoctor:ignore\n"))
	f.Add([]byte("\n\r\n# lbdoctor:ignore LBD1* x\r"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got := Scan("f", data)
		for _, ig := range got {
			if ig.Pos.Line < 1 {
				t.Fatalf("bad line %d", ig.Pos.Line)
			}
		}
		streamed, err := scanReader("f", bytes.NewReader(data))
		if err != nil || !reflect.DeepEqual(got, streamed) {
			t.Fatalf("scanReader differs from Scan (%v):\n got %+v\nwant %+v", err, streamed, got)
		}
	})
}
