package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sunomi/sunomi/cluster/pki"
)

// devPKI is the farm identity `sunomi dev` runs its parts with, so that the
// embedded default is the secure mode: the coordinator serves mutual TLS
// and Raft over TLS, the agents and the API call it with certificates of
// their roles.
type devPKI struct {
	server *pki.Material
	client *pki.Material
	agents []*pki.Material // dev-a1, dev-a2, …
}

// loadDevPKI loads the CA and certificates kept in dir, making at the first
// start the CA and then any certificate missing (more --agents than before).
func loadDevPKI(dir string, agents int) (devPKI, error) {
	var p devPKI
	if _, err := os.Stat(filepath.Join(dir, pki.CAKeyFile)); errors.Is(err, fs.ErrNotExist) {
		if err := pki.CreateCA(dir, 0); err != nil {
			return p, fmt.Errorf("create the development CA: %w", err)
		}
	}
	var err error
	if p.server, err = devMaterial(dir, pki.RoleServer, "dev"); err != nil {
		return p, err
	}
	if p.client, err = devMaterial(dir, pki.RoleClient, "dev-api"); err != nil {
		return p, err
	}
	for i := 1; i <= agents; i++ {
		m, err := devMaterial(dir, pki.RoleAgent, "dev-a"+strconv.Itoa(i))
		if err != nil {
			return p, err
		}
		p.agents = append(p.agents, m)
	}
	return p, nil
}

func devMaterial(dir string, role pki.Role, name string) (*pki.Material, error) {
	files := pki.Files{CA: filepath.Join(dir, pki.CAFile), Cert: filepath.Join(dir, name+".pem"), Key: filepath.Join(dir, name+"-key.pem")}
	if _, err := os.Stat(files.Cert); errors.Is(err, fs.ErrNotExist) {
		if _, _, err := pki.CreateCert(dir, pki.CertRequest{Role: role, Name: name}, dir); err != nil {
			return nil, fmt.Errorf("create the development %s certificate: %w", role, err)
		}
	}
	m, err := pki.Load(files)
	if err != nil {
		return nil, fmt.Errorf("%w (delete %s to make new certificates)", err, dir)
	}
	return m, nil
}
