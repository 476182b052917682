// Package corpus holds no code of its own. Its tests run lbdoctor's nginx,
// HAProxy and keepalived parsers over the shared corpus of real-world
// configurations written by others (LBDOCTOR_CORPUS, else
// ../shared/corpus next to the repository) and hold their readings to two
// references: golden listings under testdata/corpus, reviewed by hand
// against the files (see testdata/corpus/REVIEW.md), and, where the daemon
// can run, the sockets nginx and HAProxy really open inside a throw-away
// network namespace.
package corpus
