/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_x25519_fe64_adx.c - X25519 (RFC 7748 section 5) for the host back end
 * on x86-64 processors with BMI2 (mulx) and ADX (adcx, adox): the same
 * contract as sga_x25519_fe51.c, on four 64-bit limbs, with the field
 * arithmetic in inline assembly. Compiled on x86-64 only; sga_ec.c calls it
 * only when the processor has both extensions (else sga_x25519_fe51).
 *
 * Field elements. A value mod p = 2^255 - 19 is held as any 256-bit integer
 * (four little-endian 64-bit limbs) congruent to it: the arithmetic is mod
 * 2p = 2^256 - 38, where 2^256 = 38 (mod p) folds a carry out of the top limb
 * back into the bottom one. Every operation takes any 256-bit inputs and
 * returns a 256-bit result, so there are no limb bounds to track; only the
 * encoding reduces to the canonical value below p.
 *
 * Multiplication is a 4 x 4 schoolbook product, one row per limb of f: each
 * row's 64 x 64 -> 128 products come from mulx (which leaves the flags
 * alone), their low halves are added along the CF chain (adcx) and their high
 * halves along the OF chain (adox), so both carry chains run interleaved
 * without saving flags. The 512-bit product L + 2^256 H is reduced as
 * L + 38 H (again mulx with the two chains), which leaves a top limb t of
 * at most 6 bits; t and bit 255 b fold as 2^255 (2t + b) = 19 (2t + b) into
 * a value below 2^255, which the addition cannot carry out of. Squaring
 * computes the six cross products once, doubles them on the CF chain and
 * adds the four squares on the OF chain. The mul, square and a24 products
 * write their result only after their last read, so the output may alias an
 * input; the three low limbs of a product wait in a scratch buffer that is
 * part of the wiped ladder state.
 *
 * Constant time: no branch and no memory index depends on the scalar, u or
 * any intermediate value. The ladder is RFC 7748's; its conditional swap per
 * scalar bit is a cmov selection merged into the step's first additions
 * (FE64_SEL_ADDSUB), the last one a masked swap; the carry folds are
 * arithmetic or sbb/and masks, never branches; the inversion is z^(p-2) by a
 * fixed chain of 254 squarings and 11 multiplications. Every secret on the stack (the clamped scalar, the ladder
 * state, the inversion temporaries, the scratch limbs) is wiped before
 * return; what the assembly leaves in caller-saved registers is overwritten
 * by the code that follows, as with the compiled fe51 ladder.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sga_crypto.h"
#include "sga_crypto_common.h"
#include "sga_crypto_priv.h"

#if !defined(__x86_64__)
#error "sga_x25519_fe64_adx.c is for x86-64 only (offload/meson.build)"
#endif

__extension__ typedef unsigned __int128 u128;
typedef uint64_t fe64[4];

#define FE64_INLINE static inline __attribute__((always_inline))

/* h = f * g (mod 2^256 - 38); t: four limbs of scratch. h may alias f or g. */
FE64_INLINE void fe64_mul(fe64 h, const fe64 f, const fe64 g, uint64_t t[4])
{
	__asm__ volatile(
	    /* row 0: f0 * g -> z0 (t[0]), z1 r9, z2 r11, z3 r13, z4 r15 */
	    "movq   0(%[f]), %%rdx\n\t"
	    "mulxq  0(%[g]), %%r8, %%r9\n\t"
	    "mulxq  8(%[g]), %%r10, %%r11\n\t"
	    "mulxq  16(%[g]), %%r12, %%r13\n\t"
	    "mulxq  24(%[g]), %%r14, %%r15\n\t"
	    "addq   %%r10, %%r9\n\t"
	    "adcq   %%r12, %%r11\n\t"
	    "adcq   %%r14, %%r13\n\t"
	    "adcq   $0, %%r15\n\t"
	    "movq   %%r8, 0(%[t])\n\t"
	    /* row 1: f1 * g; z1 final (t[1]), z5 r12 */
	    "movq   8(%[f]), %%rdx\n\t"
	    "xorl   %%eax, %%eax\n\t"
	    "mulxq  0(%[g]), %%r8, %%r10\n\t"
	    "adcxq  %%r8, %%r9\n\t"
	    "adoxq  %%r10, %%r11\n\t"
	    "mulxq  8(%[g]), %%r8, %%r10\n\t"
	    "adcxq  %%r8, %%r11\n\t"
	    "adoxq  %%r10, %%r13\n\t"
	    "mulxq  16(%[g]), %%r8, %%r10\n\t"
	    "adcxq  %%r8, %%r13\n\t"
	    "adoxq  %%r10, %%r15\n\t"
	    "mulxq  24(%[g]), %%r8, %%r12\n\t"
	    "adcxq  %%r8, %%r15\n\t"
	    "adoxq  %%rax, %%r12\n\t"
	    "adcxq  %%rax, %%r12\n\t"
	    "movq   %%r9, 8(%[t])\n\t"
	    /* row 2: f2 * g; z2 final (t[2]), z6 r14 */
	    "movq   16(%[f]), %%rdx\n\t"
	    "xorl   %%eax, %%eax\n\t"
	    "mulxq  0(%[g]), %%r8, %%r10\n\t"
	    "adcxq  %%r8, %%r11\n\t"
	    "adoxq  %%r10, %%r13\n\t"
	    "mulxq  8(%[g]), %%r8, %%r10\n\t"
	    "adcxq  %%r8, %%r13\n\t"
	    "adoxq  %%r10, %%r15\n\t"
	    "mulxq  16(%[g]), %%r8, %%r10\n\t"
	    "adcxq  %%r8, %%r15\n\t"
	    "adoxq  %%r10, %%r12\n\t"
	    "mulxq  24(%[g]), %%r8, %%r14\n\t"
	    "adcxq  %%r8, %%r12\n\t"
	    "adoxq  %%rax, %%r14\n\t"
	    "adcxq  %%rax, %%r14\n\t"
	    "movq   %%r11, 16(%[t])\n\t"
	    /* row 3: f3 * g; z3 r13, z4 r15, z5 r12, z6 r14, z7 r9 */
	    "movq   24(%[f]), %%rdx\n\t"
	    "xorl   %%eax, %%eax\n\t"
	    "mulxq  0(%[g]), %%r8, %%r10\n\t"
	    "adcxq  %%r8, %%r13\n\t"
	    "adoxq  %%r10, %%r15\n\t"
	    "mulxq  8(%[g]), %%r8, %%r10\n\t"
	    "adcxq  %%r8, %%r15\n\t"
	    "adoxq  %%r10, %%r12\n\t"
	    "mulxq  16(%[g]), %%r8, %%r10\n\t"
	    "adcxq  %%r8, %%r12\n\t"
	    "adoxq  %%r10, %%r14\n\t"
	    "mulxq  24(%[g]), %%r8, %%r9\n\t"
	    "adcxq  %%r8, %%r14\n\t"
	    "adoxq  %%rax, %%r9\n\t"
	    "adcxq  %%rax, %%r9\n\t"
	    /* L + 38 H: low halves of 38 z4..z7 on CF with z0..z3, high halves
	     * on OF one limb up; r0 r8, r1 r11, r2 r10, r3 r14, top r15 */
	    "movl   $38, %%edx\n\t"
	    "xorl   %%eax, %%eax\n\t"
	    "mulxq  %%r15, %%r8, %%r10\n\t"
	    "adcxq  0(%[t]), %%r8\n\t"
	    "mulxq  %%r12, %%r11, %%r15\n\t"
	    "adoxq  %%r10, %%r11\n\t"
	    "adcxq  8(%[t]), %%r11\n\t"
	    "mulxq  %%r14, %%r10, %%r12\n\t"
	    "adoxq  %%r15, %%r10\n\t"
	    "adcxq  16(%[t]), %%r10\n\t"
	    "mulxq  %%r9, %%r14, %%r15\n\t"
	    "adoxq  %%r12, %%r14\n\t"
	    "adcxq  %%r13, %%r14\n\t"
	    "adoxq  %%rax, %%r15\n\t"
	    "adcxq  %%rax, %%r15\n\t"
	    /* top t (<= 39) and bit 255 b: 2^255 (2t + b) = 19 (2t + b) */
	    "movq   %%r14, %%r12\n\t"
	    "shrq   $63, %%r12\n\t"
	    "btrq   $63, %%r14\n\t"
	    "leaq   (%%r12,%%r15,2), %%r15\n\t"
	    "imulq  $19, %%r15, %%r15\n\t"
	    "addq   %%r15, %%r8\n\t"
	    "adcq   %%rax, %%r11\n\t"
	    "adcq   %%rax, %%r10\n\t"
	    "adcq   %%rax, %%r14\n\t"
	    "movq   %%r8, 0(%[h])\n\t"
	    "movq   %%r11, 8(%[h])\n\t"
	    "movq   %%r10, 16(%[h])\n\t"
	    "movq   %%r14, 24(%[h])\n\t"
	    :
	    : [h] "r"(h), [f] "r"(f), [g] "r"(g), [t] "r"(t)
	    : "rax", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "cc", "memory");
}

/* h = f^2 (mod 2^256 - 38). h may alias f. */
FE64_INLINE void fe64_sq(fe64 h, const fe64 f)
{
	__asm__ volatile(
	    /* cross products: c1 r9, c2 r10, c3 r11, c4 r12, c5 r13, c6 r14 */
	    "movq   0(%[f]), %%rdx\n\t"
	    "mulxq  8(%[f]), %%r9, %%r10\n\t"   /* f0 f1 */
	    "mulxq  16(%[f]), %%r8, %%r11\n\t"  /* f0 f2 */
	    "mulxq  24(%[f]), %%r14, %%r12\n\t" /* f0 f3 */
	    "addq   %%r8, %%r10\n\t"
	    "adcq   %%r14, %%r11\n\t"
	    "adcq   $0, %%r12\n\t"
	    "movq   8(%[f]), %%rdx\n\t"
	    "mulxq  16(%[f]), %%r8, %%r14\n\t"  /* f1 f2 */
	    "mulxq  24(%[f]), %%rax, %%r13\n\t" /* f1 f3 */
	    "addq   %%r8, %%r11\n\t"
	    "adcq   %%r14, %%r12\n\t"
	    "adcq   $0, %%r13\n\t"
	    "addq   %%rax, %%r12\n\t"
	    "adcq   $0, %%r13\n\t"
	    "movq   16(%[f]), %%rdx\n\t"
	    "mulxq  24(%[f]), %%r8, %%r14\n\t" /* f2 f3 */
	    "addq   %%r8, %%r13\n\t"
	    "adcq   $0, %%r14\n\t"
	    /* 2 c on CF, the squares on OF: z0 r8, z1..z6 r9..r14, z7 rcx */
	    "xorl   %%eax, %%eax\n\t"
	    "movq   0(%[f]), %%rdx\n\t"
	    "mulxq  %%rdx, %%r8, %%r15\n\t"
	    "adcxq  %%r9, %%r9\n\t"
	    "adoxq  %%r15, %%r9\n\t"
	    "movq   8(%[f]), %%rdx\n\t"
	    "mulxq  %%rdx, %%r15, %%rcx\n\t"
	    "adcxq  %%r10, %%r10\n\t"
	    "adoxq  %%r15, %%r10\n\t"
	    "adcxq  %%r11, %%r11\n\t"
	    "adoxq  %%rcx, %%r11\n\t"
	    "movq   16(%[f]), %%rdx\n\t"
	    "mulxq  %%rdx, %%r15, %%rcx\n\t"
	    "adcxq  %%r12, %%r12\n\t"
	    "adoxq  %%r15, %%r12\n\t"
	    "adcxq  %%r13, %%r13\n\t"
	    "adoxq  %%rcx, %%r13\n\t"
	    "movq   24(%[f]), %%rdx\n\t"
	    "mulxq  %%rdx, %%r15, %%rcx\n\t"
	    "adcxq  %%r14, %%r14\n\t"
	    "adoxq  %%r15, %%r14\n\t"
	    "adcxq  %%rax, %%rcx\n\t"
	    "adoxq  %%rax, %%rcx\n\t"
	    /* L + 38 H: r0 r8, r1 r9, r2 r10, r3 r11, top r14 */
	    "movl   $38, %%edx\n\t"
	    "xorl   %%eax, %%eax\n\t"
	    "mulxq  %%r12, %%r15, %%rbx\n\t"
	    "adcxq  %%r15, %%r8\n\t"
	    "mulxq  %%r13, %%r15, %%r12\n\t"
	    "adoxq  %%rbx, %%r9\n\t"
	    "adcxq  %%r15, %%r9\n\t"
	    "mulxq  %%r14, %%r15, %%r13\n\t"
	    "adoxq  %%r12, %%r10\n\t"
	    "adcxq  %%r15, %%r10\n\t"
	    "mulxq  %%rcx, %%r15, %%r14\n\t"
	    "adoxq  %%r13, %%r11\n\t"
	    "adcxq  %%r15, %%r11\n\t"
	    "adoxq  %%rax, %%r14\n\t"
	    "adcxq  %%rax, %%r14\n\t"
	    "movq   %%r11, %%r12\n\t"
	    "shrq   $63, %%r12\n\t"
	    "btrq   $63, %%r11\n\t"
	    "leaq   (%%r12,%%r14,2), %%r14\n\t"
	    "imulq  $19, %%r14, %%r14\n\t"
	    "addq   %%r14, %%r8\n\t"
	    "adcq   %%rax, %%r9\n\t"
	    "adcq   %%rax, %%r10\n\t"
	    "adcq   %%rax, %%r11\n\t"
	    "movq   %%r8, 0(%[h])\n\t"
	    "movq   %%r9, 8(%[h])\n\t"
	    "movq   %%r10, 16(%[h])\n\t"
	    "movq   %%r11, 24(%[h])\n\t"
	    :
	    : [h] "r"(h), [f] "r"(f)
	    : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	      "cc", "memory");
}

/* h = g + 121666 f (mod 2^256 - 38): the ladder's AA + a24 E as
 * BB + (a24 + 1) E, a24 + 1 = (A + 2) / 4. h may alias f or g. */
FE64_INLINE void fe64_mul_a24_add(fe64 h, const fe64 f, const fe64 g)
{
	__asm__ volatile("movl   $121666, %%edx\n\t"
	                 "mulxq  0(%[f]), %%r8, %%r9\n\t"
	                 "mulxq  8(%[f]), %%r10, %%r11\n\t"
	                 "mulxq  16(%[f]), %%r12, %%r13\n\t"
	                 "mulxq  24(%[f]), %%r14, %%r15\n\t"
	                 "addq   %%r9, %%r10\n\t"
	                 "adcq   %%r11, %%r12\n\t"
	                 "adcq   %%r13, %%r14\n\t"
	                 "adcq   $0, %%r15\n\t"
	                 "addq   0(%[g]), %%r8\n\t"
	                 "adcq   8(%[g]), %%r10\n\t"
	                 "adcq   16(%[g]), %%r12\n\t"
	                 "adcq   24(%[g]), %%r14\n\t"
	                 "adcq   $0, %%r15\n\t"
	                 /* top t below 2^17 + 1 and bit 255 b: 19 (2t + b) */
	                 "movq   %%r14, %%r9\n\t"
	                 "shrq   $63, %%r9\n\t"
	                 "btrq   $63, %%r14\n\t"
	                 "leaq   (%%r9,%%r15,2), %%r15\n\t"
	                 "imulq  $19, %%r15, %%r15\n\t"
	                 "addq   %%r15, %%r8\n\t"
	                 "adcq   $0, %%r10\n\t"
	                 "adcq   $0, %%r12\n\t"
	                 "adcq   $0, %%r14\n\t"
	                 "movq   %%r8, 0(%[h])\n\t"
	                 "movq   %%r10, 8(%[h])\n\t"
	                 "movq   %%r12, 16(%[h])\n\t"
	                 "movq   %%r14, 24(%[h])\n\t"
	                 :
	                 : [h] "r"(h), [f] "r"(f), [g] "r"(g)
	                 : "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "cc",
	                   "memory");
}

/* h = f - g (mod 2^256 - 38): a borrow out of the top limb means 2^256 too
 * much, i.e. 38 too much mod p. */
FE64_INLINE void fe64_sub(fe64 h, const fe64 f, const fe64 g)
{
	__asm__ volatile("movq   0(%[f]), %%r8\n\t"
	                 "movq   8(%[f]), %%r9\n\t"
	                 "movq   16(%[f]), %%r10\n\t"
	                 "movq   24(%[f]), %%r11\n\t"
	                 "subq   0(%[g]), %%r8\n\t"
	                 "sbbq   8(%[g]), %%r9\n\t"
	                 "sbbq   16(%[g]), %%r10\n\t"
	                 "sbbq   24(%[g]), %%r11\n\t"
	                 "sbbq   %%rax, %%rax\n\t"
	                 "andq   $38, %%rax\n\t"
	                 "subq   %%rax, %%r8\n\t"
	                 "sbbq   $0, %%r9\n\t"
	                 "sbbq   $0, %%r10\n\t"
	                 "sbbq   $0, %%r11\n\t"
	                 "sbbq   %%rax, %%rax\n\t"
	                 "andq   $38, %%rax\n\t"
	                 "subq   %%rax, %%r8\n\t"
	                 "movq   %%r8, 0(%[h])\n\t"
	                 "movq   %%r9, 8(%[h])\n\t"
	                 "movq   %%r10, 16(%[h])\n\t"
	                 "movq   %%r11, 24(%[h])\n\t"
	                 :
	                 : [h] "r"(h), [f] "r"(f), [g] "r"(g)
	                 : "rax", "r8", "r9", "r10", "r11", "cc", "memory");
}

/* s = f + g and d = f - g (mod 2^256 - 38) in one pass: the ladder's
 * (A, B), (C, D) and (DA + CB, DA - CB). s and d may alias f or g. */
FE64_INLINE void fe64_addsub(fe64 s, fe64 d, const fe64 f, const fe64 g)
{
	__asm__ volatile("movq   0(%[f]), %%r8\n\t"
	                 "movq   8(%[f]), %%r9\n\t"
	                 "movq   16(%[f]), %%r10\n\t"
	                 "movq   24(%[f]), %%r11\n\t"
	                 "movq   %%r8, %%r12\n\t"
	                 "movq   %%r9, %%r13\n\t"
	                 "movq   %%r10, %%r14\n\t"
	                 "movq   %%r11, %%r15\n\t"
	                 "addq   0(%[g]), %%r8\n\t"
	                 "adcq   8(%[g]), %%r9\n\t"
	                 "adcq   16(%[g]), %%r10\n\t"
	                 "adcq   24(%[g]), %%r11\n\t"
	                 "sbbq   %%rax, %%rax\n\t"
	                 "subq   0(%[g]), %%r12\n\t"
	                 "sbbq   8(%[g]), %%r13\n\t"
	                 "sbbq   16(%[g]), %%r14\n\t"
	                 "sbbq   24(%[g]), %%r15\n\t"
	                 "sbbq   %%rdx, %%rdx\n\t"
	                 "andq   $38, %%rax\n\t"
	                 "andq   $38, %%rdx\n\t"
	                 "addq   %%rax, %%r8\n\t"
	                 "adcq   $0, %%r9\n\t"
	                 "adcq   $0, %%r10\n\t"
	                 "adcq   $0, %%r11\n\t"
	                 "sbbq   %%rax, %%rax\n\t"
	                 "subq   %%rdx, %%r12\n\t"
	                 "sbbq   $0, %%r13\n\t"
	                 "sbbq   $0, %%r14\n\t"
	                 "sbbq   $0, %%r15\n\t"
	                 "sbbq   %%rdx, %%rdx\n\t"
	                 "andq   $38, %%rax\n\t"
	                 "andq   $38, %%rdx\n\t"
	                 "addq   %%rax, %%r8\n\t"
	                 "subq   %%rdx, %%r12\n\t"
	                 "movq   %%r8, 0(%[s])\n\t"
	                 "movq   %%r9, 8(%[s])\n\t"
	                 "movq   %%r10, 16(%[s])\n\t"
	                 "movq   %%r11, 24(%[s])\n\t"
	                 "movq   %%r12, 0(%[d])\n\t"
	                 "movq   %%r13, 8(%[d])\n\t"
	                 "movq   %%r14, 16(%[d])\n\t"
	                 "movq   %%r15, 24(%[d])\n\t"
	                 :
	                 : [s] "r"(s), [d] "r"(d), [f] "r"(f), [g] "r"(g)
	                 : "rax", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "cc",
	                   "memory");
}

/* Swap f and g if swap is 1, leave them if 0: by mask, without a branch. */
FE64_INLINE void fe64_cswap(fe64 f, fe64 g, uint64_t swap)
{
	uint64_t mask = sga_value_barrier(0 - swap);

	for (int i = 0; i < 4; i++) {
		uint64_t x = mask & (f[i] ^ g[i]);

		f[i] ^= x;
		g[i] ^= x;
	}
}

/* h = f^(2^n), n >= 1. */
static void fe64_sqn(fe64 h, const fe64 f, int n)
{
	fe64_sq(h, f);
	while (--n > 0)
		fe64_sq(h, h);
}

/* The temporaries of the inversion, in one place to be wiped. */
struct fe64_inv {
	fe64 z2, z9, z11, z2_5_0, z2_10_0, z2_20_0, z2_50_0, z2_100_0, t;
};

/* h = z^(p-2) = z^(2^255 - 21): 1/z for z != 0 (mod p), 0 for z = 0. */
static void fe64_invert(fe64 h, const fe64 z, struct fe64_inv *v, uint64_t s[4])
{
	fe64_sq(v->z2, z);                        /* 2 */
	fe64_sqn(v->t, v->z2, 2);                 /* 8 */
	fe64_mul(v->z9, v->t, z, s);              /* 9 */
	fe64_mul(v->z11, v->z9, v->z2, s);        /* 11 */
	fe64_sq(v->t, v->z11);                    /* 22 */
	fe64_mul(v->z2_5_0, v->t, v->z9, s);      /* 2^5 - 1 */
	fe64_sqn(v->t, v->z2_5_0, 5);             /* 2^10 - 2^5 */
	fe64_mul(v->z2_10_0, v->t, v->z2_5_0, s); /* 2^10 - 1 */
	fe64_sqn(v->t, v->z2_10_0, 10);
	fe64_mul(v->z2_20_0, v->t, v->z2_10_0, s); /* 2^20 - 1 */
	fe64_sqn(v->t, v->z2_20_0, 20);
	fe64_mul(v->t, v->t, v->z2_20_0, s); /* 2^40 - 1 */
	fe64_sqn(v->t, v->t, 10);
	fe64_mul(v->z2_50_0, v->t, v->z2_10_0, s); /* 2^50 - 1 */
	fe64_sqn(v->t, v->z2_50_0, 50);
	fe64_mul(v->z2_100_0, v->t, v->z2_50_0, s); /* 2^100 - 1 */
	fe64_sqn(v->t, v->z2_100_0, 100);
	fe64_mul(v->t, v->t, v->z2_100_0, s); /* 2^200 - 1 */
	fe64_sqn(v->t, v->t, 50);
	fe64_mul(v->t, v->t, v->z2_50_0, s); /* 2^250 - 1 */
	fe64_sqn(v->t, v->t, 5);             /* 2^255 - 2^5 */
	fe64_mul(h, v->t, v->z11, s);        /* 2^255 - 21 */
}

/* RFC 7748 encodeUCoordinate: the canonical value (below p), little-endian.
 * f is any 256-bit value; f[] is overwritten. */
static void fe64_tobytes(uint8_t out[32], fe64 f)
{
	uint64_t q;
	u128 c;

	/* Fold bit 255: f = f mod 2^255 + 19 * bit255, now below 2^255 + 19. */
	q = f[3] >> 63;
	f[3] &= UINT64_MAX >> 1;
	c = (u128)f[0] + 19 * q;
	f[0] = (uint64_t)c;
	for (int i = 1; i < 4; i++) {
		c = (u128)f[i] + (uint64_t)(c >> 64);
		f[i] = (uint64_t)c;
	}
	/* f < 2^255 + 19 < 2p: q = (f + 19) >> 255 is 1 exactly when f >= p,
	 * and f - q p = f + 19 q - q 2^255. */
	c = (u128)f[0] + 19;
	for (int i = 1; i < 4; i++)
		c = (u128)f[i] + (uint64_t)(c >> 64);
	q = (uint64_t)c >> 63;
	c = (u128)f[0] + 19 * q;
	f[0] = (uint64_t)c;
	for (int i = 1; i < 4; i++) {
		c = (u128)f[i] + (uint64_t)(c >> 64);
		f[i] = (uint64_t)c;
	}
	f[3] &= UINT64_MAX >> 1;
	for (int i = 0; i < 4; i++)
		sga_store64_le(out + 8 * i, f[i]);
}

/* Everything secret the ladder holds, in one place to be wiped. */
struct fe64_ladder {
	uint8_t k[32];
	fe64 x1, x2, z2, x3, z3;
	fe64 a, aa, b, bb, e, c, d, da, cb;
	uint64_t scratch[4];
	struct fe64_inv inv;
};

/*
 * The conditional swap of the ladder, merged into its first additions: with
 * X = (swap ? q : p) and Z = (swap ? z_q : z_p), s = X + Z and d = X - Z.
 * The four inputs and two outputs are members of the ladder state at the
 * given offsets. The selection is cmov on the flags of one test of swap, with
 * both candidates always loaded: no branch, no secret address. The state is
 * never swapped in memory: every step overwrites x_2, z_2, x_3 and z_3, so
 * the step reads (x_2, z_2) as X, Z for (A, B) and (x_3, z_3) swapped the
 * other way for (C, D).
 */
#define FE64_SEL_ADDSUB(ST, SW, P, Q, ZP, ZQ, S, D)                                              \
	do {                                                                                     \
		uint64_t sw_ = (SW);                                                             \
		__asm__ volatile(                                                                \
		    "testq  %[sw], %[sw]\n\t"                                                    \
		    "movq   %c[p]+0(%[st]), %%r8\n\t"                                            \
		    "movq   %c[p]+8(%[st]), %%r9\n\t"                                            \
		    "movq   %c[p]+16(%[st]), %%r10\n\t"                                          \
		    "movq   %c[p]+24(%[st]), %%r11\n\t"                                          \
		    "movq   %c[zp]+0(%[st]), %%r12\n\t"                                          \
		    "movq   %c[zp]+8(%[st]), %%r13\n\t"                                          \
		    "movq   %c[zp]+16(%[st]), %%r14\n\t"                                         \
		    "movq   %c[zp]+24(%[st]), %%r15\n\t"                                         \
		    "cmovnzq %c[q]+0(%[st]), %%r8\n\t"                                           \
		    "cmovnzq %c[q]+8(%[st]), %%r9\n\t"                                           \
		    "cmovnzq %c[q]+16(%[st]), %%r10\n\t"                                         \
		    "cmovnzq %c[q]+24(%[st]), %%r11\n\t"                                         \
		    "cmovnzq %c[zq]+0(%[st]), %%r12\n\t"                                         \
		    "cmovnzq %c[zq]+8(%[st]), %%r13\n\t"                                         \
		    "cmovnzq %c[zq]+16(%[st]), %%r14\n\t"                                        \
		    "cmovnzq %c[zq]+24(%[st]), %%r15\n\t" /* d = X - Z in rax rbx rcx rdx */     \
		    "movq   %%r8, %%rax\n\t"                                                     \
		    "movq   %%r9, %%rbx\n\t"                                                     \
		    "movq   %%r10, %%rcx\n\t"                                                    \
		    "movq   %%r11, %%rdx\n\t"                                                    \
		    "subq   %%r12, %%rax\n\t"                                                    \
		    "sbbq   %%r13, %%rbx\n\t"                                                    \
		    "sbbq   %%r14, %%rcx\n\t"                                                    \
		    "sbbq   %%r15, %%rdx\n\t"                                                    \
		    "sbbq   %[sw], %[sw]\n\t"                                                    \
		    "andq   $38, %[sw]\n\t"                                                      \
		    "subq   %[sw], %%rax\n\t"                                                    \
		    "sbbq   $0, %%rbx\n\t"                                                       \
		    "sbbq   $0, %%rcx\n\t"                                                       \
		    "sbbq   $0, %%rdx\n\t"                                                       \
		    "sbbq   %[sw], %[sw]\n\t"                                                    \
		    "andq   $38, %[sw]\n\t"                                                      \
		    "subq   %[sw], %%rax\n\t"                                                    \
		    "movq   %%rax, %c[d]+0(%[st])\n\t"                                           \
		    "movq   %%rbx, %c[d]+8(%[st])\n\t"                                           \
		    "movq   %%rcx, %c[d]+16(%[st])\n\t"                                          \
		    "movq   %%rdx, %c[d]+24(%[st])\n\t" /* s = X + Z in r8..r11 */               \
		    "addq   %%r12, %%r8\n\t"                                                     \
		    "adcq   %%r13, %%r9\n\t"                                                     \
		    "adcq   %%r14, %%r10\n\t"                                                    \
		    "adcq   %%r15, %%r11\n\t"                                                    \
		    "sbbq   %%rax, %%rax\n\t"                                                    \
		    "andq   $38, %%rax\n\t"                                                      \
		    "addq   %%rax, %%r8\n\t"                                                     \
		    "adcq   $0, %%r9\n\t"                                                        \
		    "adcq   $0, %%r10\n\t"                                                       \
		    "adcq   $0, %%r11\n\t"                                                       \
		    "sbbq   %%rax, %%rax\n\t"                                                    \
		    "andq   $38, %%rax\n\t"                                                      \
		    "addq   %%rax, %%r8\n\t"                                                     \
		    "movq   %%r8, %c[s]+0(%[st])\n\t"                                            \
		    "movq   %%r9, %c[s]+8(%[st])\n\t"                                            \
		    "movq   %%r10, %c[s]+16(%[st])\n\t"                                          \
		    "movq   %%r11, %c[s]+24(%[st])\n\t"                                          \
		    : [sw] "+r"(sw_)                                                             \
		    : [st] "r"(ST), [p] "i"(offsetof(struct fe64_ladder, P)),                    \
		      [q] "i"(offsetof(struct fe64_ladder, Q)),                                  \
		      [zp] "i"(offsetof(struct fe64_ladder, ZP)),                                \
		      [zq] "i"(offsetof(struct fe64_ladder, ZQ)),                                \
		      [s] "i"(offsetof(struct fe64_ladder, S)),                                  \
		      [d] "i"(offsetof(struct fe64_ladder, D))                                   \
		    : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", \
		      "r15", "cc", "memory");                                                    \
	} while (0)

void sga_x25519_fe64_adx(const uint8_t scalar[SGA_X25519_LEN], const uint8_t u[SGA_X25519_LEN],
                         uint8_t out[SGA_X25519_LEN])
{
	struct fe64_ladder s;
	uint64_t *t = s.scratch;
	uint64_t swap = 0;

	sga_x25519_clamp(s.k, scalar); /* RFC 7748 decodeScalar25519 */

	/* decodeUCoordinate: bit 255 masked, [p, 2^255) kept as it is. */
	for (int i = 0; i < 4; i++)
		s.x1[i] = sga_load64_le(u + 8 * i);
	s.x1[3] &= UINT64_MAX >> 1;
	memset(s.x2, 0, sizeof(s.x2));
	s.x2[0] = 1;
	memset(s.z2, 0, sizeof(s.z2));
	memcpy(s.x3, s.x1, sizeof(s.x3));
	memset(s.z3, 0, sizeof(s.z3));
	s.z3[0] = 1;

	for (int i = 254; i >= 0; i--) {
		uint64_t k_t = (uint64_t)(s.k[i >> 3] >> (i & 7)) & 1;

		/* cswap(swap ^ k_t), then A = x_2 + z_2, B = x_2 - z_2,
		 * C = x_3 + z_3, D = x_3 - z_3 */
		swap ^= k_t;
		FE64_SEL_ADDSUB(&s, swap, x2, x3, z2, z3, a, b);
		FE64_SEL_ADDSUB(&s, swap, x3, x2, z3, z2, c, d);
		swap = k_t;

		/* The RFC's order, regrouped so that independent products sit
		 * next to each other and no product waits on the one just
		 * before it. */
		fe64_sq(s.aa, s.a);                  /* AA = A^2 */
		fe64_mul(s.da, s.d, s.a, t);         /* DA = D * A */
		fe64_sq(s.bb, s.b);                  /* BB = B^2 */
		fe64_mul(s.cb, s.c, s.b, t);         /* CB = C * B */
		fe64_sub(s.e, s.aa, s.bb);           /* E = AA - BB */
		fe64_mul_a24_add(s.a, s.e, s.bb);    /* BB + 121666 E = AA + a24 E */
		fe64_mul(s.x2, s.aa, s.bb, t);       /* x_2 = AA * BB */
		fe64_addsub(s.x3, s.z3, s.da, s.cb); /* DA + CB, DA - CB */
		fe64_mul(s.z2, s.e, s.a, t);         /* z_2 = E * (AA + a24 E) */
		fe64_sq(s.z3, s.z3);                 /* z_3 = x_1 * (DA - CB)^2 */
		fe64_sq(s.x3, s.x3);                 /* x_3 = (DA + CB)^2 */
		fe64_mul(s.z3, s.x1, s.z3, t);
	}
	fe64_cswap(s.x2, s.x3, swap);
	fe64_cswap(s.z2, s.z3, swap);

	/* x_2 * z_2^(p-2); z_2 = 0 (u of small order) gives 0. */
	fe64_invert(s.z2, s.z2, &s.inv, t);
	fe64_mul(s.x2, s.x2, s.z2, t);
	fe64_tobytes(out, s.x2);
	sga_memzero(&s, sizeof(s));
}
