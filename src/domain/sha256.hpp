// SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104) in plain C++, shared by the agents: payment card
// fingerprints and webhook signatures, fraud's idempotent input hash. Self-contained so that the
// agent libraries need no crypto library.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mercato::crypto {

std::array<uint8_t, 32> sha256(std::string_view data);
std::array<uint8_t, 32> hmac_sha256(std::string_view key, std::string_view message);
std::string to_hex(const std::array<uint8_t, 32>& digest);
// Compares in time independent of where the first difference is.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace mercato::crypto
