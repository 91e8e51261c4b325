// Device status in plain Chinese for the setup page. The station reports codes (state, link, IPP and
// ESC/POS reason keywords) and plain values (port, baud); the labels are built here from the i18n
// table. Name, Detail, raw reasons and English errors stay for the 详细信息 disclosure.

import type { DeviceStatus } from '../api'
import { labelMap, t, type MessageKey } from '../lib/i18n'

export const deviceStateLabels: Record<string, string> = labelMap({
  ready: 'devstate.ready',
  busy: 'devstate.busy',
  paper_out: 'devstate.paper_out',
  paper_low: 'devstate.paper_low',
  error: 'devstate.error',
  disconnected: 'devstate.disconnected',
})

export const deviceKindLabels: Record<string, string> = labelMap({
  idreader: 'devkind.idreader',
  ticket_printer: 'devkind.ticket_printer',
  document_printer: 'devkind.document_printer',
  camera: 'devkind.camera',
})

/** How the station reaches the device: 已连接（串口 /dev/ttyUSB0，115200 波特率）. */
export function connectionText(d: DeviceStatus): string {
  const state = d.connected ? t('devlink.connected') : t('devlink.disconnected')
  let via = ''
  switch (d.link) {
    case 'serial':
      via = d.port ? t('devlink.serial', { port: d.port }) : t('devlink.serialAuto')
      if (d.baud) via += t('devlink.baud', { baud: d.baud })
      break
    case 'tcp':
      via = t('devlink.tcp', { port: d.port ?? '' })
      break
    case 'ipp':
      via = t('devlink.ipp', { port: d.port ?? '' })
      break
    case 'v4l2':
      via = t('devlink.v4l2', { port: d.port ?? '' })
      break
    case 'sim':
      via = t('devlink.sim')
      break
  }
  return via ? t('devlink.with', { state, via }) : state
}

/** The ID reader's security module (SAM): 正常 while the reader answers, its fault when it reports one. */
export function samText(d: DeviceStatus): string {
  if (d.kind !== 'idreader' || !d.connected) return ''
  if (d.state === 'error') return d.message ? t('sam.faultWith', { message: d.message }) : t('sam.fault')
  return t('sam.ok')
}

const reasonKeys: Record<string, MessageKey> = {
  none: 'reason.none',
  'media-empty': 'reason.media-empty',
  'media-needed': 'reason.media-empty',
  'paper-out': 'reason.media-empty',
  'media-low': 'reason.media-low',
  'paper-near-end': 'reason.media-low',
  'media-jam': 'reason.media-jam',
  'door-open': 'reason.door-open',
  'cover-open': 'reason.cover-open',
  'interlock-open': 'reason.cover-open',
  'input-tray-missing': 'reason.input-tray-missing',
  'output-tray-missing': 'reason.output-tray-missing',
  'output-area-full': 'reason.output-area-full',
  'marker-supply-empty': 'reason.toner-empty',
  'toner-empty': 'reason.toner-empty',
  'marker-supply-low': 'reason.toner-low',
  'toner-low': 'reason.toner-low',
  'marker-waste-almost-full': 'reason.waste-full',
  'fuser-over-temp': 'reason.fuser',
  'fuser-under-temp': 'reason.fuser',
  paused: 'reason.paused',
  'moving-to-paused': 'reason.paused',
  'spool-area-full': 'reason.spool-full',
  'connecting-to-device': 'reason.connecting',
  offline: 'reason.offline',
  shutdown: 'reason.offline',
  'timed-out': 'reason.timed-out',
  autocutter: 'reason.autocutter',
  unrecoverable: 'reason.unrecoverable',
  error: 'reason.error',
}

/** An IPP or ESC/POS reason keyword in Chinese; the -error / -warning / -report suffix is dropped. */
export function reasonText(code: string): string {
  const base = code.replace(/-(error|warning|report)$/, '')
  const k = reasonKeys[base] ?? reasonKeys[code]
  return k ? t(k) : t('reason.other')
}

/**
 * What the printer reports, in Chinese (正常 for "none"). The ID reader's reasons are the SAM's own
 * English terms, which samText replaces with its Chinese message.
 */
export function reasonTexts(d: DeviceStatus): string[] {
  if (d.kind === 'idreader' || !d.reasons?.length) return []
  return [...new Set(d.reasons.map(reasonText))]
}

/** The last error as shown: the driver's Chinese text as it is, otherwise a pointer to 详细信息. */
export function errorShown(d: DeviceStatus): string {
  const e = d.last_error ?? ''
  return /[\u4e00-\u9fff]/.test(e) ? e : t('setup.errorInDetails')
}
