// Deterministic pseudo-random numbers for the network (loss, initial sequence numbers).
// SplitMix64 (Steele, Lea, Flood 2014): tiny state, good enough statistics for loss decisions,
// and the same sequence on every platform. Never seeded from a clock or std::random_device.
#pragma once

#include <cstdint>

namespace ftpsim::net {

class SplitMix64 {
public:
    explicit SplitMix64(std::uint64_t seed = 0) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
    std::uint64_t state_;
};

// Derives independent streams from the run's seed: mix(seed, "which stream").
inline std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream) {
    SplitMix64 g(seed ^ (stream * 0xd1342543de82ef95ULL));
    g.next();
    return g.next();
}

}  // namespace ftpsim::net
