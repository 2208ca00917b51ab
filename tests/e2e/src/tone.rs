//! Which tone does a WAV file carry? (Goertzel)
//!
//! Phones send a sine (`ausine`) and record what they receive (`sndfile`);
//! a test proves that audio crossed the gateway by finding the far end's
//! frequency in the recording. [`analyse`] scans a frequency range in 10 Hz
//! steps with the Goertzel algorithm over 100 ms windows, skipping silent
//! windows (the call's start, gaps), refines the best frequency to 1 Hz and
//! reports how much of the signal's power sits at that frequency ("purity"),
//! so noise or a mix is not mistaken for a tone.
//!
//! WAV files are read with `hound`. A file still being written by baresip
//! has a header that says "0 bytes of data" (libsndfile fixes the sizes when
//! it closes the file); for those the samples after the `data` chunk header
//! are read up to the end of the file instead.

use std::ops::RangeInclusive;
use std::path::Path;

use crate::{Result, TestbedError};

/// Windows whose RMS is below this (≈ −46 dBFS) count as silence.
pub const SILENCE_RMS: f64 = 0.005;

/// The least share of the signal's power a tone must carry to count.
pub const MIN_PURITY: f64 = 0.5;

/// At most this many non-silent 100 ms windows are analysed.
pub const MAX_WINDOWS: usize = 30;

/// The default frequency range scanned: the telephone band.
pub const TELEPHONE_BAND: RangeInclusive<u32> = 100..=3400;

/// Mean power of the component at `hz` in `samples`, by the Goertzel
/// algorithm: a sine of amplitude `A` at `hz` gives `A²/2`, the same as its
/// mean square, so `goertzel_power / mean_square` is the tone's share.
pub fn goertzel_power(samples: &[f32], sample_rate: u32, hz: f64) -> f64 {
    if samples.is_empty() || sample_rate == 0 {
        return 0.0;
    }
    let omega = 2.0 * std::f64::consts::PI * hz / f64::from(sample_rate);
    let coeff = 2.0 * omega.cos();
    let (mut s1, mut s2) = (0.0_f64, 0.0_f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let magnitude2 = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let n = samples.len() as f64;
    2.0 * magnitude2 / (n * n)
}

fn mean_square(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        / samples.len() as f64
}

/// Sample encoding of a WAV file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Int,
    Float,
}

/// The parts of a WAV header the fallback reader needs.
#[derive(Clone, Copy, Debug)]
struct Header {
    rate: u32,
    channels: u16,
    bits: u16,
    encoding: Encoding,
    data_offset: usize,
}

fn wav_err(path: &Path, message: impl Into<String>) -> TestbedError {
    TestbedError::Wav {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// Parses RIFF/WAVE chunks up to the start of `data`.
fn parse_header(path: &Path, bytes: &[u8]) -> Result<Header> {
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err(wav_err(path, "not a RIFF/WAVE file"));
    }
    let mut pos = 12;
    let mut fmt: Option<(u32, u16, u16, Encoding)> = None;
    while let (Some(id), Some(size)) = (bytes.get(pos..pos + 4), u32_at(bytes, pos + 4)) {
        let body = pos + 8;
        if id == b"fmt " {
            let tag = u16_at(bytes, body).ok_or_else(|| wav_err(path, "truncated fmt chunk"))?;
            let channels = u16_at(bytes, body + 2).unwrap_or(0);
            let rate = u32_at(bytes, body + 4).unwrap_or(0);
            let bits = u16_at(bytes, body + 14).unwrap_or(0);
            // WAVE_FORMAT_EXTENSIBLE: the real tag starts the sub-format GUID.
            let tag = if tag == 0xFFFE {
                u16_at(bytes, body + 24).unwrap_or(0)
            } else {
                tag
            };
            let encoding = match tag {
                1 => Encoding::Int,
                3 => Encoding::Float,
                other => return Err(wav_err(path, format!("unsupported WAV format tag {other}"))),
            };
            fmt = Some((rate, channels, bits, encoding));
        } else if id == b"data" {
            let (rate, channels, bits, encoding) =
                fmt.ok_or_else(|| wav_err(path, "data chunk before fmt chunk"))?;
            if rate == 0 || channels == 0 {
                return Err(wav_err(path, "fmt chunk with zero rate or channels"));
            }
            return Ok(Header {
                rate,
                channels,
                bits,
                encoding,
                data_offset: body,
            });
        }
        pos = body + size as usize + (size as usize & 1);
    }
    Err(wav_err(path, "no data chunk"))
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| TestbedError::io("reading WAV file", path, e))
}

/// Seconds of audio in a WAV file, from its size: right also while the
/// file is still being written (its header's sizes are not yet filled in).
pub fn wav_seconds(path: &Path) -> Result<f64> {
    let bytes = read_file(path)?;
    let h = parse_header(path, &bytes)?;
    let frame = usize::from(h.channels) * usize::from(h.bits / 8).max(1);
    let frames = bytes.len().saturating_sub(h.data_offset) / frame;
    Ok(frames as f64 / f64::from(h.rate))
}

/// Reads a WAV file as mono `f32` samples in −1..1 (channels averaged) and
/// its sample rate. Handles 8/16/24/32-bit integer and 32-bit float PCM,
/// and files whose header was not finalized.
pub fn read_wav_mono(path: &Path) -> Result<(Vec<f32>, u32)> {
    let bytes = read_file(path)?;
    let header = parse_header(path, &bytes)?;
    let from_hound = read_with_hound(path)?;
    let (interleaved, spec_channels) = match from_hound {
        Some((samples, channels)) if !samples.is_empty() => (samples, channels),
        // hound trusts the header's data size, 0 for an open recording.
        _ => (decode_raw(path, &bytes, header)?, header.channels),
    };
    let channels = usize::from(spec_channels.max(1));
    let mono = interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    Ok((mono, header.rate))
}

fn read_with_hound(path: &Path) -> Result<Option<(Vec<f32>, u16)>> {
    let Ok(reader) = hound::WavReader::open(path) else {
        return Ok(None);
    };
    let spec = reader.spec();
    let samples: std::result::Result<Vec<f32>, hound::Error> = match spec.sample_format {
        hound::SampleFormat::Float => reader.into_samples::<f32>().collect(),
        hound::SampleFormat::Int => {
            let scale = 2f32.powi(i32::from(spec.bits_per_sample) - 1);
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 / scale))
                .collect()
        }
    };
    match samples {
        Ok(s) => Ok(Some((s, spec.channels))),
        // A truncated last sample of a file being written: fall back.
        Err(_) => Ok(None),
    }
}

fn decode_raw(path: &Path, bytes: &[u8], h: Header) -> Result<Vec<f32>> {
    let data = bytes.get(h.data_offset..).unwrap_or_default();
    let width = usize::from(h.bits / 8);
    let frame = width * usize::from(h.channels);
    let usable = data.len() - data.len() % frame.max(1);
    let data = &data[..usable];
    let samples = match (h.encoding, h.bits) {
        (Encoding::Int, 8) => data
            .iter()
            .map(|&b| (f32::from(b) - 128.0) / 128.0)
            .collect(),
        (Encoding::Int, 16) => data
            .chunks_exact(2)
            .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])) / 32768.0)
            .collect(),
        (Encoding::Int, 24) => data
            .chunks_exact(3)
            .map(|c| (i32::from_le_bytes([0, c[0], c[1], c[2]]) >> 8) as f32 / 8_388_608.0)
            .collect(),
        (Encoding::Int, 32) => data
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32 / 2_147_483_648.0)
            .collect(),
        (Encoding::Float, 32) => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        (enc, bits) => {
            return Err(wav_err(
                path,
                format!("unsupported sample format {enc:?} {bits}-bit"),
            ));
        }
    };
    Ok(samples)
}

/// What [`analyse`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct ToneAnalysis {
    /// The strongest frequency, to 1 Hz.
    pub hz: f64,
    /// Its share of the (non-silent) signal's power, 0..1; a clean tone
    /// through G.711 is above 0.9, white noise near 0.
    pub purity: f64,
    /// Seconds of non-silent audio analysed.
    pub seconds_analysed: f64,
    /// Seconds of audio in the file.
    pub seconds_total: f64,
}

/// Finds the strongest frequency of `path` within `range` (Hz), over up to
/// [`MAX_WINDOWS`] non-silent 100 ms windows. Silence is an error.
pub fn analyse(path: &Path, range: RangeInclusive<u32>) -> Result<ToneAnalysis> {
    let (samples, rate) = read_wav_mono(path)?;
    analyse_samples(path, &samples, rate, range)
}

/// [`analyse`] for samples taken from elsewhere (decoded RTP, say);
/// `source` names where they came from in errors.
pub fn analyse_samples(
    source: &Path,
    samples: &[f32],
    rate: u32,
    range: RangeInclusive<u32>,
) -> Result<ToneAnalysis> {
    let path = source;
    let seconds_total = samples.len() as f64 / f64::from(rate);
    let window = (rate / 10).max(1) as usize;
    let windows: Vec<&[f32]> = samples
        .chunks_exact(window)
        .filter(|w| mean_square(w).sqrt() >= SILENCE_RMS)
        .take(MAX_WINDOWS)
        .collect();
    if windows.is_empty() {
        return Err(wav_err(
            path,
            format!(
                "no audio: {seconds_total:.2} s of samples, none of its 100 ms windows above \
                 {SILENCE_RMS} RMS (silence or empty recording)"
            ),
        ));
    }
    let nyquist = rate / 2;
    let lo = (*range.start()).max(1);
    let hi = (*range.end()).min(nyquist.saturating_sub(1));
    if lo > hi {
        return Err(wav_err(
            path,
            format!("range {range:?} Hz is empty at {rate} Hz sampling"),
        ));
    }
    let power_at = |hz: f64| -> f64 { windows.iter().map(|w| goertzel_power(w, rate, hz)).sum() };
    let mut best = (f64::from(lo), f64::MIN);
    let mut hz = lo;
    while hz <= hi {
        let p = power_at(f64::from(hz));
        if p > best.1 {
            best = (f64::from(hz), p);
        }
        hz += 10;
    }
    let coarse = best.0;
    for offset in -9..=9 {
        let hz = coarse + f64::from(offset);
        if hz < f64::from(lo) || hz > f64::from(hi) {
            continue;
        }
        let p = power_at(hz);
        if p > best.1 {
            best = (hz, p);
        }
    }
    let total: f64 = windows.iter().map(|w| mean_square(w)).sum();
    Ok(ToneAnalysis {
        hz: best.0,
        purity: if total > 0.0 { best.1 / total } else { 0.0 },
        seconds_analysed: (windows.len() * window) as f64 / f64::from(rate),
        seconds_total,
    })
}

/// The frequency (Hz) `path` carries most power at, within `range`.
pub fn dominant_tone(path: &Path, range: RangeInclusive<u32>) -> Result<f64> {
    analyse(path, range).map(|a| a.hz)
}

/// Checks that `path` carries a tone of `hz` ± `tolerance_hz` that holds at
/// least [`MIN_PURITY`] of its power; the error says what was found instead.
pub fn assert_tone(path: &Path, hz: f64, tolerance_hz: f64) -> Result<ToneAnalysis> {
    let (samples, rate) = read_wav_mono(path)?;
    assert_tone_samples(path, &samples, rate, hz, tolerance_hz)
}

/// [`assert_tone`] for samples taken from elsewhere; `source` names where
/// they came from in errors.
pub fn assert_tone_samples(
    source: &Path,
    samples: &[f32],
    rate: u32,
    hz: f64,
    tolerance_hz: f64,
) -> Result<ToneAnalysis> {
    let path = source;
    let lo = (*TELEPHONE_BAND.start()).min((hz - tolerance_hz).max(1.0) as u32);
    let hi = (*TELEPHONE_BAND.end()).max((hz + tolerance_hz).ceil() as u32);
    let analysis = analyse_samples(path, samples, rate, lo..=hi)?;
    let on_frequency = (analysis.hz - hz).abs() <= tolerance_hz;
    if on_frequency && analysis.purity >= MIN_PURITY {
        return Ok(analysis);
    }
    let found = if on_frequency {
        format!(
            "the {:.0} Hz component carries only {:.1}% of the power (noise or a mix; \
             {:.1} s of {:.1} s analysed)",
            analysis.hz,
            analysis.purity * 100.0,
            analysis.seconds_analysed,
            analysis.seconds_total
        )
    } else {
        format!(
            "found {:.0} Hz carrying {:.1}% of the power ({:.1} s of {:.1} s analysed)",
            analysis.hz,
            analysis.purity * 100.0,
            analysis.seconds_analysed,
            analysis.seconds_total
        )
    };
    Err(TestbedError::ToneMismatch {
        path: path.to_path_buf(),
        expected_hz: hz,
        tolerance_hz,
        found,
    })
}

#[cfg(test)]
#[path = "tone_tests.rs"]
mod tests;
