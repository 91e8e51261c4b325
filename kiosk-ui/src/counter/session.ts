// Staff session state for the counter UI. The server sets an HttpOnly cookie;
// the token is also kept in memory only and sent as a Bearer header.

import { ref } from 'vue'
import { sessions, setToken, onUnauthorized, type User } from '../api'

export const currentUser = ref<User | null>(null)
let checked = false

/** Resolves whether a staff session exists, restoring it from the cookie once after a reload. */
export async function ensureSession(): Promise<boolean> {
  if (currentUser.value) return true
  if (checked) return false
  checked = true
  try {
    const r = await sessions.status()
    currentUser.value = r.authenticated && r.user ? r.user : null
    return !!currentUser.value
  } catch {
    return false
  }
}

export async function login(username: string, password: string): Promise<User> {
  const r = await sessions.login(username, password)
  setToken(r.token)
  currentUser.value = r.user
  checked = true
  return r.user
}

export async function logout(): Promise<void> {
  try {
    await sessions.logout()
  } catch {
    // The session may already be gone; the local state is cleared regardless.
  }
  clearSession()
}

export function clearSession(): void {
  setToken('')
  currentUser.value = null
  checked = true
}

/** Installs the 401 handler: any staff call that gets 401 returns to the login page. */
export function installUnauthorizedRedirect(go: (next: string) => void): void {
  onUnauthorized(() => {
    clearSession()
    go(window.location.pathname + window.location.search)
  })
}

/** Bumped after a change (intake, transition) so the stats strip refreshes. */
export const statsVersion = ref(0)
