/*
 * LD_PRELOAD shim for Debian 12's Kamailio 5.6.3 with OpenSSL 3 (used by
 * p2_registrations.sh for the Kamailio SUT only).
 *
 * Kamailio initialises its tls module in the main process (rank 0) and
 * then forks its workers. OpenSSL 3 keeps per-thread state (the error queue
 * ERR_STATE, the per-thread random generators) behind thread-local keys,
 * allocated through Kamailio's shared-memory allocator: every forked worker
 * inherits rank 0's pointers and all of them then use the *same* objects
 * without locking. Under concurrent TLS handshakes this corrupts shared
 * memory and crashes Kamailio within seconds (kamailio#3695, #3791; seen
 * here as "qm_debug_check_frag(): BUG ... tls_init.c" and signal 11 after a
 * few hundred registrations). Kamailio 5.7.5+/5.8 fix it with the
 * tls_threads_mode parameter, which 5.6.3 does not have.
 *
 * This shim does what that fix does, from the outside: before every fork
 * it releases the calling thread's OpenSSL thread-local state
 * (OPENSSL_thread_stop), so each child starts with none and creates its
 * own. It changes nothing else; without it the Kamailio side of P2 cannot
 * complete.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>

static void release_openssl_thread_state(void)
{
	/* Only when libcrypto is already loaded (the tls module dlopens it). */
	void *crypto = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_NOLOAD);
	void (*stop)(void);

	if (crypto == NULL)
		return;
	*(void **)(&stop) = dlsym(crypto, "OPENSSL_thread_stop");
	if (stop != NULL)
		stop();
	dlclose(crypto);
}

__attribute__((constructor)) static void install(void)
{
	pthread_atfork(release_openssl_thread_state, NULL, NULL);
}
