// System-library shim for OpenSSL's libcrypto (Debian libssl-dev): SHA-256 through the EVP digest API,
// for model fingerprints and feature-cache keys.
#include <openssl/evp.h>
