// Certificates (社区证明): API types and calls for the kiosk and the counter
// (station/http/cert.go; the contract is described in docs/certificates.md and docs/api.md).

import { request } from '../api'
import { labelMap, t as tr, type MessageKey } from './i18n'

/** An input the resident or staff type when issuing (e.g. 用途). */
export interface CertInput {
  key: string
  label: string
  max_len: number
  required: boolean
  /** Example text, when the template gives one. */
  hint?: string
}

/** A certificate type as the station offers it. */
export interface CertType {
  code: string
  name: string
  /** One of the seven categories: livelihood, family_planning, labour, judicial, political_review, housing, other. */
  category: string
  category_label: string
  needs_department: boolean
  department?: string
  /** 0 when the certificate states no validity period. */
  validity_days: number
  inputs: CertInput[] | null
  /** What the certificate is for, in plain Chinese. */
  summary: string
  /** Counter list with all=1: active or withdrawn. */
  status?: string
  /** Why the type was withdrawn (e.g. citing 民发〔2020〕20号), with what to do instead. */
  withdrawn_reason?: string
}

/** One precondition that did not pass: the reason and what to do instead. */
export interface CertFailure {
  rule: string
  reason: string
  advice: string
}

export interface CertCheck {
  allowed: boolean
  /** Every rule that did not pass; rule is the rule type, "withdrawn", or "registered" (no resident record). */
  failures: CertFailure[] | null
  needs_department: boolean
  department?: string
}

/** Statuses of an issued certificate. */
export type CertStatus = 'awaiting_approval' | 'pending_print' | 'issued' | 'voided' | 'revoked'

export interface Certificate {
  id: string
  serial: string
  type_code: string
  type_name: string
  category_label: string
  status: CertStatus | string
  status_label: string
  /** Masked name. */
  subject_name: string
  /** Masked document number. */
  subject_id: string
  issue_date: string
  valid_until?: string | null
  /** Confirmed prints, the first included (reprints = print_count - 1). */
  print_count: number
  /** Prints the printer did not confirm (not counted). */
  print_failures?: number
  application_id?: string
  application_number?: string
  /** The signed QR payload. */
  payload: string
  /** Same-origin path of the verification page, /verify/<payload>. */
  verify_url: string
  preview_url: string
  /** kiosk or counter. */
  channel?: string
  /** Why it was voided or revoked (counter views only). */
  reason?: string
}

export interface CertList {
  items: Certificate[] | null
  total: number
  page?: number
  per_page?: number
}

/** Rating scores: 1 不满意, 2 基本满意, 3 满意. */
export type RatingScore = 1 | 2 | 3

export const ratingChoices: { score: RatingScore; key: MessageKey }[] = [
  { score: 3, key: 'rating.3' },
  { score: 2, key: 'rating.2' },
  { score: 1, key: 'rating.1' },
]

/** The seven categories in the order the programme lists them (民生 first, 其他 last). */
export const categoryOrder = ['livelihood', 'family_planning', 'labour', 'judicial', 'political_review', 'housing', 'other']

export const categoryLabels: Record<string, string> = labelMap({
  livelihood: 'certcat.livelihood',
  family_planning: 'certcat.family_planning',
  labour: 'certcat.labour',
  judicial: 'certcat.judicial',
  political_review: 'certcat.political_review',
  housing: 'certcat.housing',
  other: 'certcat.other',
})

export const certStatusLabels: Record<string, string> = labelMap({
  awaiting_approval: 'certstatus.awaiting_approval',
  pending_print: 'certstatus.pending_print',
  issued: 'certstatus.issued',
  voided: 'certstatus.voided',
  revoked: 'certstatus.revoked',
})

/** Where a certificate was issued. */
export const channelLabels: Record<string, string> = labelMap({
  kiosk: 'channel.kiosk',
  counter: 'channel.counter',
})

export interface CertGroup {
  category: string
  label: string
  types: CertType[]
}

/** Groups types by category in the programme's order; unknown categories come last. */
export function groupByCategory(types: CertType[]): CertGroup[] {
  const groups = new Map<string, CertGroup>()
  for (const t of types) {
    let g = groups.get(t.category)
    if (!g) {
      g = { category: t.category, label: categoryLabels[t.category] || t.category_label || t.category, types: [] }
      groups.set(t.category, g)
    }
    g.types.push(t)
  }
  const rank = (c: string) => {
    const i = categoryOrder.indexOf(c)
    return i < 0 ? categoryOrder.length : i
  }
  return [...groups.values()].sort((a, b) => rank(a.category) - rank(b.category))
}

/** Whether a type is withdrawn (已停止出具). */
export function isWithdrawn(t: CertType): boolean {
  return t.status === 'withdrawn' || !!t.withdrawn_reason
}

/** Checks typed inputs against the type's limits; returns a Chinese message per input key that is wrong. */
export function validateInputs(t: CertType, values: Record<string, string>): Record<string, string> {
  const errs: Record<string, string> = {}
  for (const f of t.inputs ?? []) {
    const v = (values[f.key] ?? '').trim()
    if (f.required && !v) errs[f.key] = tr('certin.required', { label: f.label })
    else if ([...v].length > f.max_len) errs[f.key] = tr('certin.tooLong', { label: f.label, n: f.max_len })
    else if (/[\u0000-\u001f\u007f]/.test(v)) errs[f.key] = tr('certin.control', { label: f.label })
  }
  return errs
}

/** Trimmed input values, without empty optional ones. */
export function cleanInputs(t: CertType, values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const f of t.inputs ?? []) {
    const v = (values[f.key] ?? '').trim()
    if (v) out[f.key] = v
  }
  return out
}

/** Absolute verification address of a certificate (what its QR code's page shows), for staff to read out. */
export function verifyHref(c: Certificate): string {
  return new URL(c.verify_url || `/verify/${c.payload}`, window.location.origin).toString()
}

const v1 = '/api/v1'
const enc = encodeURIComponent

// Kiosk calls: loopback only, for the card on the reader (typed numbers get EFORBIDDEN).
export const kioskCerts = {
  types: () => request<CertType[] | null>('GET', `${v1}/kiosk/certificates/types`),
  check: (typeCode: string) => request<CertCheck>('POST', `${v1}/kiosk/certificates/check`, { type_code: typeCode }),
  issue: (typeCode: string, inputs: Record<string, string>) =>
    request<Certificate>('POST', `${v1}/kiosk/certificates`, { type_code: typeCode, inputs }),
  previewURL: (id: string) => `${v1}/kiosk/certificates/${enc(id)}/preview.png`,
  print: (id: string) => request<Certificate>('POST', `${v1}/kiosk/certificates/${enc(id)}/print`, {}),
  rate: (subject: 'certificate' | 'application', id: string, score: RatingScore) =>
    request<void>('POST', `${v1}/kiosk/ratings`, { subject, id, score }),
}

// Counter calls (staff, reviewer, station admin; revoke: station admin).
export const counterCerts = {
  types: (all: boolean) => request<CertType[] | null>('GET', `${v1}/certificates/types${all ? '?all=1' : ''}`, undefined, { staff: true }),
  check: (residentID: string, typeCode: string) =>
    request<CertCheck>('POST', `${v1}/certificates/check`, { resident_id: residentID, type_code: typeCode }, { staff: true }),
  issue: (residentID: string, typeCode: string, inputs: Record<string, string>) =>
    request<Certificate>('POST', `${v1}/certificates`, { resident_id: residentID, type_code: typeCode, inputs }, { staff: true }),
  list: (p: { resident_id?: string; status?: string; page?: number }) => {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(p)) if (v !== undefined && v !== '') q.set(k, String(v))
    const s = q.toString()
    return request<CertList>('GET', `${v1}/certificates${s ? `?${s}` : ''}`, undefined, { staff: true })
  },
  get: (id: string) => request<Certificate>('GET', `${v1}/certificates/${enc(id)}`, undefined, { staff: true }),
  /** Same-origin URLs; the staff session cookie authorizes them (reads are audited). */
  previewURL: (id: string) => `${v1}/certificates/${enc(id)}/preview.png`,
  pdfURL: (id: string) => `${v1}/certificates/${enc(id)}/pdf`,
  print: (id: string, reprint: boolean) =>
    request<Certificate>('POST', `${v1}/certificates/${enc(id)}/print`, { reprint }, { staff: true }),
  void: (id: string, reason: string) => request<Certificate>('POST', `${v1}/certificates/${enc(id)}/void`, { reason }, { staff: true }),
  revoke: (id: string, reason: string) =>
    request<Certificate>('POST', `${v1}/certificates/${enc(id)}/revoke`, { reason }, { staff: true }),
}

/** A resident as the counter sees them (station/http/resident.go): the document number masked. */
export interface ResidentSummary {
  id: string
  id_type: string
  id_number: string
  name: string
  sex?: string
  birth_date?: string | null
  address?: string
  community?: string
  tags?: string[] | null
}

// Residents, to pick who a certificate is for (reads are audited).
export const residentsApi = {
  lookup: (idType: string, idNumber: string) =>
    request<ResidentSummary>('POST', `${v1}/residents/lookup`, { id_type: idType, id_number: idNumber }, { staff: true }),
  get: (id: string) => request<ResidentSummary>('GET', `${v1}/residents/${enc(id)}`, undefined, { staff: true }),
}
