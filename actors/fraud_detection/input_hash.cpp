// The scoring input's digest (see input_hash.hpp), on the shared SHA-256.
#include "fraud_detection/input_hash.hpp"

#include "domain/sha256.hpp"

namespace mercato::fraud {

std::string sha256_hex(std::string_view data) { return crypto::to_hex(crypto::sha256(data)); }

}  // namespace mercato::fraud
