package randomprovider

import (
	"crypto/rand"
	"errors"
	"math/big"

	"golang.org/x/crypto/bcrypt"
)

// Character classes, as in terraform-provider-random (which @pulumi/random bridges).
const (
	numChars       = "0123456789"
	lowerChars     = "abcdefghijklmnopqrstuvwxyz"
	upperChars     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	defaultSpecial = "!@#$%&*()-_=+[]{}<>:?"
)

// Params are the effective (defaulted) inputs of a RandomPassword.
type Params struct {
	Length                                     int64
	Upper, Lower, Numeric, Special             bool
	MinUpper, MinLower, MinNumeric, MinSpecial int64
	OverrideSpecial                            string
}

// Generate builds a password like terraform-provider-random's CreateString: the minimum counts of each class are
// drawn from that class (whether or not the class is enabled), the rest from the union of enabled classes, and the
// result is shuffled. Every draw uses crypto/rand.
func Generate(p Params) (string, error) {
	special := defaultSpecial
	if p.OverrideSpecial != "" {
		special = p.OverrideSpecial
	}
	chars := ""
	if p.Upper {
		chars += upperChars
	}
	if p.Lower {
		chars += lowerChars
	}
	if p.Numeric {
		chars += numChars
	}
	if p.Special {
		chars += special
	}
	if chars == "" {
		return "", errors.New("the character set specified is empty: at least one of upper, lower, numeric " +
			"and special must be true")
	}
	if p.Length < 1 {
		return "", errors.New("length must be at least 1")
	}
	if sum := p.MinUpper + p.MinLower + p.MinNumeric + p.MinSpecial; p.Length < sum {
		return "", errors.New("length must be >= minUpper + minLower + minNumeric + minSpecial")
	}

	result := make([]byte, 0, p.Length)
	for _, m := range []struct {
		set string
		n   int64
	}{{numChars, p.MinNumeric}, {lowerChars, p.MinLower}, {upperChars, p.MinUpper}, {special, p.MinSpecial}} {
		b, err := randomBytes(m.set, m.n)
		if err != nil {
			return "", err
		}
		result = append(result, b...)
	}
	b, err := randomBytes(chars, p.Length-int64(len(result)))
	if err != nil {
		return "", err
	}
	result = append(result, b...)

	// Fisher-Yates shuffle with crypto/rand so the guaranteed characters are not at fixed positions.
	for i := len(result) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		result[i], result[j.Int64()] = result[j.Int64()], result[i]
	}
	return string(result), nil
}

func randomBytes(set string, n int64) ([]byte, error) {
	out := make([]byte, 0, max(n, 0))
	for range n {
		i, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return nil, err
		}
		out = append(out, set[i.Int64()])
	}
	return out, nil
}

// BcryptHash hashes the password with the default cost; like upstream, only the first 72 bytes are hashed.
func BcryptHash(password string) (string, error) {
	b := []byte(password)
	if len(b) > 72 {
		b = b[:72]
	}
	h, err := bcrypt.GenerateFromPassword(b, bcrypt.DefaultCost)
	return string(h), err
}
