// SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104) in plain C++: card fingerprints and webhook
// signatures. Kept here because the agent libraries do not link OpenSSL.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mercato::payment {

std::array<uint8_t, 32> sha256(std::string_view data);
std::array<uint8_t, 32> hmac_sha256(std::string_view key, std::string_view message);
std::string to_hex(const std::array<uint8_t, 32>& digest);
// Compares in time independent of where the first difference is.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace mercato::payment
