/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_crypto.h - the one API for every cryptographic operation SGA performs.
 *
 * Callers (protocol library, device SDK, control plane, data plane) use only the
 * functions below. Each operation class that hardware can accelerate (AEAD, RSA
 * private-key decryption, modular exponentiation) dispatches through a
 * struct sga_crypto_backend chosen once at start-up, so a QAT or rte_cryptodev
 * backend slots in without touching any caller. The software backend on
 * OpenSSL 3 is always present and is the default.
 *
 * Conventions: functions return 0 on success or a negative errno value
 * (-EINVAL bad argument, -ENOSPC output buffer too small, -EBADMSG
 * authentication failure, -EIO the crypto library failed, -ENOMEM). Constructors
 * return NULL and set errno. Nothing here logs; nothing here keeps a copy of a key
 * longer than the call, except the opaque key objects, which wipe on free.
 */
#ifndef SGA_CRYPTO_H
#define SGA_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SGA_MUST_CHECK __attribute__((warn_unused_result))

/* ---- secure memory helpers -------------------------------------------- */

/** Overwrite n bytes at p with zeros; never optimised away. NULL/0 is a no-op. */
void sga_memzero(void *p, size_t n);

/** Constant-time comparison: 1 if the n bytes are equal, 0 otherwise. Time
 *  depends on n only, never on the contents. */
int sga_ct_memeq(const void *a, const void *b, size_t n);

/** Fill buf with len bytes from the CSPRNG (OpenSSL's DRBG, seeded by the OS). */
int sga_random_bytes(uint8_t *buf, size_t len) SGA_MUST_CHECK;

/* ---- scatter input ----------------------------------------------------- */

/** One piece of a message that is hashed/MACed as the concatenation of pieces. */
struct sga_buf {
	const void *p;
	size_t n;
};

/* ---- hashes, MAC, KDF (always software: cheap, not worth offloading) --- */

#define SGA_SHA256_LEN 32

int sga_sha256(const struct sga_buf *parts, size_t nparts,
               uint8_t out[SGA_SHA256_LEN]) SGA_MUST_CHECK;

/** HMAC-SHA256 over the concatenation of parts: the paper's f_k. */
int sga_hmac_sha256(const uint8_t *key, size_t key_len, const struct sga_buf *parts, size_t nparts,
                    uint8_t out[SGA_SHA256_LEN]) SGA_MUST_CHECK;

/** HMAC-SHA256 under one key for many messages (one thread at a time): the
 *  keyed state is kept, so each message costs no allocation or key set-up.
 *  NULL if out of memory or key_len is 0. */
struct sga_hmac_key;
struct sga_hmac_key *sga_hmac_key_new(const uint8_t *key, size_t key_len);
int sga_hmac_key_mac(struct sga_hmac_key *k, const struct sga_buf *parts, size_t nparts,
                     uint8_t out[SGA_SHA256_LEN]) SGA_MUST_CHECK;
void sga_hmac_key_free(struct sga_hmac_key *k); /* NULL: no-op; the key state is wiped */

/** HKDF-SHA256 (RFC 5869) extract-then-expand. salt may be NULL/0 (then
 *  HashLen zero bytes, per the RFC). out_len <= 255 * 32. */
int sga_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                    const uint8_t *info, size_t info_len, uint8_t *out,
                    size_t out_len) SGA_MUST_CHECK;

/* ---- AEAD cipher-suite registry (the paper's set C) --------------------- */

/* Stable one-byte identifiers: on the wire, in Redis, in configs. Never renumber. */
enum sga_suite_id {
	SGA_SUITE_AES128_GCM = 0x01,
	SGA_SUITE_AES256_GCM = 0x02,
	SGA_SUITE_CHACHA20_POLY1305 = 0x03,
	SGA_SUITE_AES128_CCM8 = 0x04,   /* 8-byte tag, as constrained radios use */
	SGA_SUITE_ASCON_AEAD128 = 0x05, /* NIST SP 800-232; sga_ascon.h, no OpenSSL */
};

/* Every suite takes the protocol's 96-bit nonce; ascon-aead128 widens it to
 * its 128 bits as 00 00 00 00 || nonce (PROTOCOL.md 4.4). */
#define SGA_AEAD_NONCE_LEN   12
#define SGA_AEAD_MAX_KEY_LEN 32
#define SGA_AEAD_MAX_TAG_LEN 16
#define SGA_SUITE_COUNT      5

struct sga_suite_info {
	uint8_t id;       /* enum sga_suite_id */
	const char *name; /* "aes-128-gcm", "aes-256-gcm", "chacha20-poly1305", "aes-128-ccm8",
	                     "ascon-aead128" */
	uint8_t key_len;
	uint8_t tag_len;
};

/** Registry entry for id, or NULL if the id is not a known suite. */
const struct sga_suite_info *sga_suite_get(uint8_t id);
/** Registry entry for a name as above (case-sensitive), or NULL. */
const struct sga_suite_info *sga_suite_by_name(const char *name);
/** All known suites, in id order; *count receives SGA_SUITE_COUNT. */
const struct sga_suite_info *sga_suite_list(size_t *count);

/**
 * AEAD seal: ct receives pt_len bytes of ciphertext followed by the suite's tag
 * (tag_len bytes); ct_cap must be >= pt_len + tag_len. ct may equal pt (in place).
 * key is the suite's key_len bytes; nonce is SGA_AEAD_NONCE_LEN bytes and must
 * never repeat under one key.
 */
int sga_aead_seal(uint8_t suite, const uint8_t *key, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct,
                  size_t ct_cap) SGA_MUST_CHECK;

/**
 * AEAD open: ct_len includes the tag; pt receives ct_len - tag_len bytes (pt may
 * equal ct). On a bad tag returns -EBADMSG and pt is zeroed; the tag comparison
 * is constant-time.
 */
int sga_aead_open(uint8_t suite, const uint8_t *key, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt,
                  size_t pt_cap) SGA_MUST_CHECK;

/* ---- prepared AEAD keys (the CPU path's per-key cipher contexts) --------- */

/*
 * A key of one suite for one direction with its key schedule done once: for a
 * key that protects many messages (a hop key), instead of sga_aead_seal/open,
 * which build and key an OpenSSL context per call. Software (OpenSSL; the
 * project's own sga_ascon.c for ascon-aead128) always, whatever backend is
 * installed. One thread at a time per object (it holds
 * per-message state); the same arguments, checks, errors and wiping as
 * sga_aead_seal/open, with the suite and key taken from the object.
 */
struct sga_aead_key; /* opaque; wipes its key schedule on free */

enum sga_aead_dir {
	SGA_AEAD_SEAL = 0,
	SGA_AEAD_OPEN = 1,
};

/** A prepared key for suite (its key_len bytes at key, copied into the
 *  schedule; the caller wipes its own). NULL and errno: EINVAL (unknown suite),
 *  ENOMEM, EIO (OpenSSL refused). */
struct sga_aead_key *sga_aead_key_new(uint8_t suite, enum sga_aead_dir dir,
                                      const uint8_t *key) SGA_MUST_CHECK;
/** Wipe and free; NULL is a no-op. */
void sga_aead_key_free(struct sga_aead_key *k);
/** The suite k was made for (0 for NULL). */
uint8_t sga_aead_key_suite(const struct sga_aead_key *k);
/** sga_aead_seal under k (made with SGA_AEAD_SEAL, else -EINVAL). */
int sga_aead_key_seal(struct sga_aead_key *k, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                      const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                      uint8_t *ct, size_t ct_cap) SGA_MUST_CHECK;
/** sga_aead_open under k (made with SGA_AEAD_OPEN, else -EINVAL). */
int sga_aead_key_open(struct sga_aead_key *k, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                      const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                      uint8_t *pt, size_t pt_cap) SGA_MUST_CHECK;

/* ---- RSA-OAEP-SHA256 (E_PK / D_PR, and the trapdoor function F_G) ------- */

struct sga_rsa_key; /* opaque: public-only or full key pair */

/** Generate a key pair of bits (2048 or 3072; others -EINVAL). */
int sga_rsa_generate(unsigned bits, struct sga_rsa_key **out) SGA_MUST_CHECK;
/** PEM (PKCS#8 private key or SubjectPublicKeyInfo public key) from a file. */
int sga_rsa_load_pem(const char *path, struct sga_rsa_key **out) SGA_MUST_CHECK;
/** Write the private key as unencrypted PKCS#8 PEM, file mode 0600. */
int sga_rsa_save_private_pem(const struct sga_rsa_key *key, const char *path) SGA_MUST_CHECK;
/** PEM (private or public) from memory. */
int sga_rsa_from_pem(const char *pem, size_t len, struct sga_rsa_key **out) SGA_MUST_CHECK;
/** DER SubjectPublicKeyInfo <-> key (public-only). *der_len receives the length. */
int sga_rsa_public_der(const struct sga_rsa_key *key, uint8_t *der, size_t cap,
                       size_t *der_len) SGA_MUST_CHECK;
int sga_rsa_from_public_der(const uint8_t *der, size_t len,
                            struct sga_rsa_key **out) SGA_MUST_CHECK;
/** Modulus size in bytes (= ciphertext size). */
size_t sga_rsa_size(const struct sga_rsa_key *key);
/** 1 if the object holds the private half. */
int sga_rsa_has_private(const struct sga_rsa_key *key);
/** Wipe and free; NULL is a no-op. */
void sga_rsa_free(struct sga_rsa_key *key);

/** Largest plaintext for OAEP-SHA256 with this key: size - 2*32 - 2. */
size_t sga_rsa_oaep_max_plaintext(const struct sga_rsa_key *key);

/** Encrypt with the public half (randomised: OAEP seed from the CSPRNG). */
int sga_rsa_oaep_encrypt(const struct sga_rsa_key *key, const uint8_t *pt, size_t pt_len,
                         uint8_t *ct, size_t ct_cap, size_t *ct_len) SGA_MUST_CHECK;
/** Decrypt with the private half; -EBADMSG on a padding/ciphertext failure.
 *  Dispatched to the backend (QAT-capable). */
int sga_rsa_oaep_decrypt(const struct sga_rsa_key *key, const uint8_t *ct, size_t ct_len,
                         uint8_t *pt, size_t pt_cap, size_t *pt_len) SGA_MUST_CHECK;

/* ---- finite-field groups (RFC 7919) and modular exponentiation ---------- */

enum sga_group_id {
	SGA_GROUP_FFDHE2048 = 0x01,
	SGA_GROUP_FFDHE3072 = 0x02,
	SGA_GROUP_X25519 = 0x03, /* the EC profile (RFC 7748) */
	SGA_GROUP_P256 = 0x04,   /* the EC profile on NIST P-256, where QAT does ECDH */
};

/*
 * The groups a build computes in. A device build for one profile leaves the
 * others out (-DSGA_GROUPS_FFDHE=0 -DSGA_GROUPS_P256=0 for an x25519-only
 * microcontroller): sga_group_get then does not know them, so a package,
 * record or frame of such a group is refused like an unknown one, and none
 * of their code links. The host builds keep all of them.
 */
#ifndef SGA_GROUPS_FFDHE
#define SGA_GROUPS_FFDHE 1
#endif
#ifndef SGA_GROUPS_X25519
#define SGA_GROUPS_X25519 1
#endif
#ifndef SGA_GROUPS_P256
#define SGA_GROUPS_P256 1
#endif

/* The longest element (and shared secret) of the groups built in: p of
 * ffdhe3072, else a compressed P-256 point, else an X25519 u. */
#if SGA_GROUPS_FFDHE
#define SGA_GROUP_MAX_LEN 384
#elif SGA_GROUPS_P256
#define SGA_GROUP_MAX_LEN 33
#else
#define SGA_GROUP_MAX_LEN 32
#endif
#define SGA_EXPONENT_LEN 32 /* 256-bit private exponents / scalars */

/* How a group computes: the arithmetic behind sga_group_mul. */
enum sga_group_kind {
	SGA_GROUP_KIND_FFDHE = 1,  /* RFC 7919: modexp, QAT-capable through the backend */
	SGA_GROUP_KIND_X25519 = 2, /* RFC 7748: software in every back end */
	SGA_GROUP_KIND_P256 = 3,   /* NIST P-256: x-only ECDH, the backend's p256_ecdh (QAT) */
};

struct sga_group_info {
	uint8_t id;        /* enum sga_group_id */
	const char *name;  /* "ffdhe2048", "ffdhe3072", "x25519" */
	size_t len;        /* bytes of an element on the wire (N, X): every element is
	                      encoded in exactly len bytes */
	size_t secret_len; /* bytes of a shared secret enc(K) (K_is, K_isj): len for
	                      ffdhe and x25519; 32 (the x coordinate) for p256, whose
	                      elements are 33-byte compressed points */
	uint8_t kind;      /* enum sga_group_kind */
	const uint8_t *p;  /* ffdhe: big-endian prime, len bytes; NULL otherwise */
	uint8_t g;         /* ffdhe: generator (2); 0 otherwise */
};

const struct sga_group_info *sga_group_get(uint8_t id);
const struct sga_group_info *sga_group_by_name(const char *name);

/** 1 if elem (grp->len bytes) is an acceptable peer element, else 0: ffdhe
 *  big-endian in [2, p-2]; x25519 canonical (< 2^255 - 19) and not of small
 *  order (sga_x25519_element_ok). */
int sga_group_element_ok(const struct sga_group_info *grp, const uint8_t *elem);

/**
 * out = base^exp mod p, all big-endian; base and out are grp->len bytes, exp is
 * exp_len bytes (secret: the exponentiation is constant-time). base may be NULL
 * to mean the generator g. Dispatched to the backend (QAT-capable).
 */
int sga_modexp(const struct sga_group_info *grp, const uint8_t *base, const uint8_t *exp,
               size_t exp_len, uint8_t *out) SGA_MUST_CHECK;

/**
 * Draw a private exponent: SGA_EXPONENT_LEN random bytes, rejecting zero.
 */
int sga_exponent_random(uint8_t exp[SGA_EXPONENT_LEN]) SGA_MUST_CHECK;

/*
 * The group operation of every group, so protocol code has one path (the
 * ffdhe groups go on through sga_modexp and so through the backend):
 *   sga_group_mul:    out (grp->len bytes) = the element [scalar]base, base
 *                     NULL meaning the generator (ffdhe: base^scalar mod p;
 *                     x25519: X25519(scalar, base), base NULL = u 9; p256:
 *                     [scalar]G compressed with its real y parity, and for a
 *                     base 02 || x([scalar]base): only x is computed, and the
 *                     parity of a point does not change x of its multiples);
 *   sga_group_shared: secret (grp->secret_len bytes) = enc([scalar]peer), the
 *                     shared secret K; -EINVAL if it is degenerate (x25519:
 *                     all zero; ffdhe: outside [2, p-2]).
 * The caller checks a received peer element with sga_group_element_ok first.
 * scalar is SGA_EXPONENT_LEN secret bytes (sga_group_scalar_random).
 */
int sga_group_scalar_random(const struct sga_group_info *grp,
                            uint8_t scalar[SGA_EXPONENT_LEN]) SGA_MUST_CHECK;
int sga_group_mul(const struct sga_group_info *grp, const uint8_t *base,
                  const uint8_t scalar[SGA_EXPONENT_LEN], uint8_t *out) SGA_MUST_CHECK;
int sga_group_shared(const struct sga_group_info *grp, const uint8_t *peer,
                     const uint8_t scalar[SGA_EXPONENT_LEN], uint8_t *secret) SGA_MUST_CHECK;

/* ---- X25519 (RFC 7748): the EC profile's group operation ----------------- */

#define SGA_X25519_LEN 32

/**
 * out = X25519(scalar, u): the scalar clamped as RFC 7748 section 5 says, u
 * NULL meaning the base point (u = 9). -EINVAL if the result is all zero (u of
 * small order: the RFC's check). Software in every crypto back end (OpenSSL,
 * and the portable one the device core builds with); scalar and out are
 * secrets the caller wipes.
 */
int sga_x25519(const uint8_t scalar[SGA_X25519_LEN], const uint8_t *u,
               uint8_t out[SGA_X25519_LEN]) SGA_MUST_CHECK;

/**
 * The EC profile's element check, the analogue of 2 <= x <= p-2: 1 if u is
 * canonical (the little-endian value is below 2^255 - 19, so bit 255 is clear)
 * and not of small order (0, 1, p-1 and the two points of order 8 of the RFC
 * 7748 / libsodium blocklist), else 0. Pure C (offload/sga_ec_check.c), shared
 * by every back end.
 */
int sga_x25519_element_ok(const uint8_t u[SGA_X25519_LEN]);

/* ---- NIST P-256: the EC profile where QAT offloads ECDH ----------------- */

#define SGA_P256_SCALAR_LEN       32
#define SGA_P256_X_LEN            32
#define SGA_P256_COMPRESSED_LEN   33 /* 02/03 || x */
#define SGA_P256_UNCOMPRESSED_LEN 65 /* 04 || x || y */

/** 1 if point is a SEC1 encoding of a point on the curve: 33 bytes with prefix
 *  02/03 or 65 bytes with prefix 04, coordinates below p, and the point exists
 *  (for a compressed one, x^3 - 3x + b is a square mod p). Cofactor 1: every
 *  such point has order n. */
int sga_p256_point_ok(const uint8_t *point, size_t len);
/** x = the x coordinate of [scalar]P, P a point as sga_p256_point_ok accepts
 *  (-EINVAL otherwise, or for a scalar outside [1, n-1]). The ECDH derive a
 *  QAT offloads: dispatched to the backend's p256_ecdh when it has one. */
int sga_p256_ecdh(const uint8_t scalar[SGA_P256_SCALAR_LEN], const uint8_t *point, size_t point_len,
                  uint8_t x[SGA_P256_X_LEN]) SGA_MUST_CHECK;
/** out = [scalar]G, SEC1 compressed (out_len 33) or uncompressed (65). */
int sga_p256_base_mul(const uint8_t scalar[SGA_P256_SCALAR_LEN], uint8_t *out,
                      size_t out_len) SGA_MUST_CHECK;
/** A scalar in [1, n-1]: 32 CSPRNG bytes, rejection-sampled. */
int sga_p256_scalar_random(uint8_t scalar[SGA_P256_SCALAR_LEN]) SGA_MUST_CHECK;

/* ---- backends ------------------------------------------------------------ */

/*
 * A backend implements the operations worth offloading. Any NULL member falls
 * back to the software implementation. Installed once at start-up, before
 * worker threads run; not changed afterwards.
 */
struct sga_crypto_backend {
	const char *name;
	int (*aead_seal)(uint8_t suite, const uint8_t *key, const uint8_t *nonce,
	                 const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
	                 uint8_t *ct, size_t ct_cap);
	int (*aead_open)(uint8_t suite, const uint8_t *key, const uint8_t *nonce,
	                 const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
	                 uint8_t *pt, size_t pt_cap);
	int (*rsa_oaep_decrypt)(const struct sga_rsa_key *key, const uint8_t *ct, size_t ct_len,
	                        uint8_t *pt, size_t pt_cap, size_t *pt_len);
	int (*modexp)(const struct sga_group_info *grp, const uint8_t *base, const uint8_t *exp,
	              size_t exp_len, uint8_t *out);
	/* sga_p256_ecdh after its argument checks (the point is on the curve). */
	int (*p256_ecdh)(const uint8_t *scalar, const uint8_t *point, size_t point_len, uint8_t *x);
};

/** The software backend on OpenSSL 3 (name "openssl"). */
const struct sga_crypto_backend *sga_crypto_backend_software(void);
/** Install b (NULL restores software). Not thread-safe: call at start-up. */
void sga_crypto_backend_set(const struct sga_crypto_backend *b);
/** The installed backend. */
const struct sga_crypto_backend *sga_crypto_backend_get(void);

#ifdef __cplusplus
}
#endif
#endif /* SGA_CRYPTO_H */
