//! Tone detection on synthesized WAV files written to disk.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use super::*;

fn sine(hz: f64, rate: u32, seconds: f64, amplitude: f64) -> Vec<f64> {
    let n = (f64::from(rate) * seconds) as usize;
    (0..n)
        .map(|i| amplitude * (2.0 * PI * hz * i as f64 / f64::from(rate)).sin())
        .collect()
}

/// Deterministic white noise in −a..a (xorshift).
fn noise(rate: u32, seconds: f64, amplitude: f64) -> Vec<f64> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let n = (f64::from(rate) * seconds) as usize;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            amplitude * ((state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)
        })
        .collect()
}

fn write_i16(dir: &Path, name: &str, rate: u32, samples: &[f64]) -> PathBuf {
    let path = dir.join(name);
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for &s in samples {
        w.write_sample((s * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
    path
}

#[test]
fn goertzel_power_of_a_sine_is_its_mean_square() {
    let s: Vec<f32> = sine(1000.0, 8000, 0.1, 0.5)
        .iter()
        .map(|&x| x as f32)
        .collect();
    let p = goertzel_power(&s, 8000, 1000.0);
    assert!((p - 0.125).abs() < 0.005, "{p}");
    assert!(goertzel_power(&s, 8000, 700.0) < 0.001);
    assert_eq!(goertzel_power(&[], 8000, 700.0), 0.0);
}

#[test]
fn finds_1000_hz_and_not_700() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_i16(dir.path(), "a.wav", 8000, &sine(1000.0, 8000, 1.0, 0.4));
    let a = assert_tone(&path, 1000.0, 10.0).unwrap();
    assert!(a.purity > 0.9, "{a:?}");
    assert!((dominant_tone(&path, TELEPHONE_BAND).unwrap() - 1000.0).abs() <= 1.0);
    let err = assert_tone(&path, 700.0, 10.0).unwrap_err().to_string();
    assert!(err.contains("expected a 700 Hz"), "{err}");
    assert!(err.contains("found 1000 Hz"), "{err}");
}

#[test]
fn finds_700_hz_off_the_10_hz_grid() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_i16(dir.path(), "b.wav", 8000, &sine(704.0, 8000, 1.0, 0.4));
    let a = analyse(&path, TELEPHONE_BAND).unwrap();
    assert!((a.hz - 704.0).abs() <= 1.0, "{a:?}");
    assert!(a.purity > 0.9, "{a:?}");
    assert_tone(&path, 700.0, 10.0).unwrap();
    assert!(assert_tone(&path, 1000.0, 10.0).is_err());
}

#[test]
fn skips_leading_silence() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = vec![0.0; 8000];
    s.extend(sine(700.0, 8000, 0.5, 0.3));
    let path = write_i16(dir.path(), "c.wav", 8000, &s);
    let a = assert_tone(&path, 700.0, 10.0).unwrap();
    assert!((a.seconds_analysed - 0.5).abs() < 0.11, "{a:?}");
    assert!((a.seconds_total - 1.5).abs() < 0.01, "{a:?}");
}

#[test]
fn noise_is_not_a_tone() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_i16(dir.path(), "n.wav", 8000, &noise(8000, 1.0, 0.5));
    let a = analyse(&path, TELEPHONE_BAND).unwrap();
    assert!(a.purity < 0.1, "{a:?}");
    let err = assert_tone(&path, a.hz, 10.0).unwrap_err().to_string();
    assert!(err.contains("only"), "{err}");
}

#[test]
fn silence_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_i16(dir.path(), "s.wav", 8000, &vec![0.0; 8000]);
    let err = assert_tone(&path, 1000.0, 10.0).unwrap_err().to_string();
    assert!(err.contains("no audio"), "{err}");
    let empty = write_i16(dir.path(), "e.wav", 8000, &[]);
    assert!(assert_tone(&empty, 1000.0, 10.0).is_err());
}

#[test]
fn reads_float_stereo_and_i32() {
    let dir = tempfile::tempdir().unwrap();
    let tone = sine(700.0, 48000, 0.5, 0.3);
    let path = dir.path().join("f.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for &s in &tone {
        w.write_sample(s as f32).unwrap();
        w.write_sample(s as f32).unwrap();
    }
    w.finalize().unwrap();
    let (mono, rate) = read_wav_mono(&path).unwrap();
    assert_eq!(rate, 48000);
    assert_eq!(mono.len(), tone.len());
    assert_tone(&path, 700.0, 10.0).unwrap();

    let path = dir.path().join("i32.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for &s in &sine(1000.0, 16000, 0.5, 0.3) {
        w.write_sample((s * f64::from(i32::MAX)) as i32).unwrap();
    }
    w.finalize().unwrap();
    let (mono, _) = read_wav_mono(&path).unwrap();
    let peak = mono.iter().fold(0.0_f32, |m, &x| m.max(x.abs()));
    assert!((peak - 0.3).abs() < 0.01, "{peak}");
    assert_tone(&path, 1000.0, 10.0).unwrap();
}

/// libsndfile leaves the sizes at 0 until it closes the file, which is what
/// a recording looks like while the call is still up.
#[test]
fn reads_a_file_still_being_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_i16(dir.path(), "open.wav", 8000, &sine(1000.0, 8000, 0.8, 0.4));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[4..8].copy_from_slice(&8u32.to_le_bytes());
    bytes[40..44].copy_from_slice(&0u32.to_le_bytes());
    // and a half-written last sample
    bytes.push(0x12);
    std::fs::write(&path, &bytes).unwrap();
    let secs = wav_seconds(&path).unwrap();
    assert!((secs - 0.8).abs() < 0.001, "{secs}");
    let (mono, rate) = read_wav_mono(&path).unwrap();
    assert_eq!((mono.len(), rate), (6400, 8000));
    assert_tone(&path, 1000.0, 10.0).unwrap();
}

#[test]
fn rejects_what_is_not_wav() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.wav");
    std::fs::write(&path, b"hello, this is not audio at all").unwrap();
    let err = read_wav_mono(&path).unwrap_err().to_string();
    assert!(err.contains("not a RIFF/WAVE"), "{err}");
    let missing = dir.path().join("missing.wav");
    assert!(
        read_wav_mono(&missing)
            .unwrap_err()
            .to_string()
            .contains("missing.wav")
    );
}
