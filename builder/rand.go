package builder

// rng is splitmix64 (Steele, Lea, Flood 2014): a 64-bit state advanced by a
// fixed odd constant and finalised by two xor-shift-multiply rounds. It is
// ours so that a seed means the same weights on every Go release and
// platform (math/rand's streams are not promised to stay put).
type rng struct{ state uint64 }

func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// uniform returns a float64 in [0, 1) from the top 53 bits.
func (r *rng) uniform() float64 {
	return float64(r.next()>>11) * (1.0 / (1 << 53))
}

// between returns a uniform value in [lo, hi). The explicit conversion keeps
// the compiler from fusing the multiply-add (it would on arm64), so a seed
// gives bit-identical weights everywhere.
func (r *rng) between(lo, hi float64) float64 {
	return lo + float64((hi-lo)*r.uniform())
}

// normal returns an approximately standard normal value: the sum of twelve
// uniform 21-bit integers, minus their mean (Irwin-Hall: mean 0 to within 3e-6,
// variance 1, tails cut at +-6). Unlike Box-Muller it needs no log or cos, whose last bit
// may differ between platforms; every step here is exact integer or
// power-of-two arithmetic.
func (r *rng) normal() float64 {
	var sum uint64
	for i := 0; i < 4; i++ {
		z := r.next()
		sum += z&(1<<21-1) + z>>21&(1<<21-1) + z>>42&(1<<21-1)
	}
	return float64(sum)*(1.0/(1<<21)) - 6
}
