package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ErrInvalid classifies a request that names nothing valid to make.
var ErrInvalid = errors.New("invalid certificate request")

// CA is a certificate authority: its certificate and key.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// Request says what certificate to make.
type Request struct {
	Name  string   // the common name: the client's user name for etcd
	Hosts []string // IP addresses and DNS names it serves as; none: a client only
	Valid time.Duration
	// Operator marks an operator's certificate (IsOperator): the one the
	// agent APIs read a unit's status and journal for. A machine's or an
	// etcd member's is not one: a machine's certificate fetches images
	// from the others, and reads none of their units.
	Operator bool
}

// operatorUnit is the organizational unit that marks an operator's
// certificate.
const operatorUnit = "flota-operator"

// IsOperator says whether cert is an operator's (Request.Operator).
func IsOperator(cert *x509.Certificate) bool {
	return slices.Contains(cert.Subject.OrganizationalUnit, operatorUnit)
}

// Files of a certificate in a directory: NAME.crt and NAME.key; the CA's
// are ca.crt and ca.key.
func Files(dir, name string) (cert, key string) {
	return filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
}

// NewCA makes a CA named name, valid for valid.
func NewCA(name string, valid time.Duration, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ca key: %w", err)
	}
	tmpl, err := template(name, valid, now)
	if err != nil {
		return nil, err
	}
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("ca certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ca certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Issue makes a certificate for r, signed by ca. Every certificate may
// authenticate a client; one with Hosts also serves as them (an etcd
// member's serves clients and peers with one certificate).
func (ca *CA) Issue(r Request, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	if err := checkName(r.Name); err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("key of %s: %w", r.Name, err)
	}
	tmpl, err := template(r.Name, r.Valid, now)
	if err != nil {
		return nil, nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	if r.Operator {
		tmpl.Subject.OrganizationalUnit = []string{operatorUnit}
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if len(r.Hosts) > 0 {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	for _, h := range r.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" && !strings.ContainsAny(h, " /\t\n,") {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		} else {
			return nil, nil, fmt.Errorf("%w: host %q of %s: want an IP address or a DNS name", ErrInvalid, h, r.Name)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("certificate of %s: %w", r.Name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("certificate of %s: %w", r.Name, err)
	}
	return cert, key, nil
}

func checkName(name string) error {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " /\\\t\n,=") {
		return fmt.Errorf("%w: name %q: want 1 to 64 characters, no blank, '/', '\\', ',' or '='", ErrInvalid, name)
	}
	return nil
}

func template(name string, valid time.Duration, now time.Time) (*x509.Certificate, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if valid <= 0 {
		return nil, fmt.Errorf("%w: validity %v of %s: want more than 0", ErrInvalid, valid, name)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("serial of %s: %w", name, err)
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, Organization: []string{"flota"}},
		NotBefore:    now.Add(-time.Minute), // a peer's clock a little behind
		NotAfter:     now.Add(valid),
	}, nil
}

// Write stores cert and key as NAME.crt and NAME.key in dir (key mode
// 0600), refusing to replace files that exist: a CA or a machine's key
// overwritten by mistake cannot be had back.
func Write(dir, name string, cert *x509.Certificate, key *ecdsa.PrivateKey) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("certificate directory: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("key of %s: %w", name, err)
	}
	certFile, keyFile := Files(dir, name)
	for _, f := range []string{certFile, keyFile} {
		if _, err := os.Stat(f); err == nil {
			return fmt.Errorf("%s exists: not replacing it", f)
		}
	}
	if err := writeNew(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	if err := writeNew(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		os.Remove(keyFile) // no key without its certificate
		return err
	}
	return nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// LoadCA reads ca.crt and ca.key from dir.
func LoadCA(dir string) (*CA, error) {
	certFile, keyFile := Files(dir, "ca")
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read the CA: %w", err)
	}
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read the CA's key: %w", err)
	}
	cp, _ := pem.Decode(cb)
	kp, _ := pem.Decode(kb)
	if cp == nil || kp == nil {
		return nil, fmt.Errorf("%w: %s or %s is not PEM", ErrInvalid, certFile, keyFile)
	}
	cert, err := x509.ParseCertificate(cp.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certFile, err)
	}
	key, err := x509.ParseECPrivateKey(kp.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%w: %s is not a CA certificate", ErrInvalid, certFile)
	}
	return &CA{Cert: cert, Key: key}, nil
}
