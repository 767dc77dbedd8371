// The signed-in session: the access and refresh tokens, kept in memory only (never in storage, so a reload asks
// to sign in again), and a timer that renews the pair before the access token expires.

/** Milliseconds after issue to renew a token that lives expiresIn seconds: a minute early, at most a third of it. */
export function renewDelay(expiresIn) {
  const seconds = Number(expiresIn);
  if (!Number.isFinite(seconds) || seconds <= 0) return null;
  const early = Math.min(60, seconds / 3);
  return Math.max(1, seconds - early) * 1000;
}

/** "try again in 42 s" → the moment to retry, from the problem's detail or the Retry-After seconds. */
export function retryAt(problem, now = Date.now()) {
  const seconds = Number(problem?.retry_after ?? /try again in (\d+) s/.exec(problem?.detail ?? '')?.[1]);
  return Number.isFinite(seconds) && seconds > 0 ? new Date(now + seconds * 1000) : null;
}

export class Session {
  /**
   * @param {{renew: (refreshToken: string) => Promise<object>, onExpired: () => void,
   *          setTimer?: typeof setTimeout, clearTimer?: typeof clearTimeout}} options
   */
  constructor({
    renew,
    onExpired,
    setTimer = (run, ms) => setTimeout(run, ms),
    clearTimer = (timer) => clearTimeout(timer),
  } = {}) {
    this.renew = renew;
    this.onExpired = onExpired;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.pair = null;
    this.timer = null;
    this.renewing = null;
  }

  get signedIn() {
    return this.pair !== null;
  }

  /** The Authorization header value, or null when not signed in. */
  get authorization() {
    return this.pair ? `Bearer ${this.pair.access_token}` : null;
  }

  get refreshToken() {
    return this.pair?.refresh_token ?? null;
  }

  /** Keep a token pair (from /login or /refresh) and schedule its renewal. */
  start(pair) {
    this.pair = { access_token: pair.access_token, refresh_token: pair.refresh_token };
    this.#schedule(renewDelay(pair.expires_in));
  }

  /** Trade the refresh token for a new pair (once at a time); on failure the session ends. Resolves to success. */
  refresh() {
    if (!this.pair?.refresh_token || !this.renew) return Promise.resolve(false);
    this.renewing ??= this.renew(this.pair.refresh_token)
      .then((pair) => {
        this.start(pair);
        return true;
      })
      .catch(() => {
        this.end();
        this.onExpired?.();
        return false;
      })
      .finally(() => {
        this.renewing = null;
      });
    return this.renewing;
  }

  end() {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this.pair = null;
  }

  #schedule(delay) {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = delay === null ? null : this.setTimer(() => this.refresh(), delay);
  }
}
