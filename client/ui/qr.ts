/**
 * A QR code of a join link, as an SVG data URL for an `<img>` (no canvas, no HTML injected):
 * a phone's camera opens the link and the phone joins the session.
 *
 * @example
 * img.src = await qrCodeDataUrl('http://10.0.0.5:8080/?session=abcd1234&token=tok');
 */
import QRCode from 'qrcode';

export async function qrCodeSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

export async function qrCodeDataUrl(text: string): Promise<string> {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(await qrCodeSvg(text))}`;
}
