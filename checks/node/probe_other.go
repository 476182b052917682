//go:build !linux

package node

import (
	"errors"

	"github.com/lbdoctor/lbdoctor/checks"
)

func probe([]checks.Service) (map[string]string, error) {
	return nil, errors.New("--probe needs Linux")
}
