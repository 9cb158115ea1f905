// SHA-256 (FIPS 180-4) of a scoring's canonical input: the `input_hash` that makes re-scoring
// idempotent (UNIQUE entity_type, entity_id, input_hash); domain/sha256.hpp does the hashing.
#pragma once

#include <string>
#include <string_view>

namespace mercato::fraud {

// Lower-case hex digest (64 characters).
std::string sha256_hex(std::string_view data);

}  // namespace mercato::fraud
