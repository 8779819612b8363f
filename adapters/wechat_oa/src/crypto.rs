//! Safe mode (安全模式) message encryption, as WeChat does it.
//!
//! Key: the 43-character EncodingAESKey plus `=`, base64-decoded: 32 bytes, AES-256-CBC with the
//! key's first 16 bytes as the IV. Plaintext: 16 random bytes, the message length (4 bytes, big
//! endian), the message, the AppID; PKCS#7-padded to a multiple of 32 bytes (not 16). The
//! ciphertext travels base64-encoded in the `<Encrypt>` element.

use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::{alphabet, Engine};

type Encryptor = cbc::Encryptor<aes::Aes256>;
type Decryptor = cbc::Decryptor<aes::Aes256>;

/// EncodingAESKeys are 43 random characters: the last one usually has low bits set that a
/// canonical 32-byte encoding would not, and WeChat (like Python's base64) ignores them.
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));

/// WeChat pads to this block size, twice AES's.
const PAD_BLOCK: usize = 32;
/// The random prefix of every plaintext.
pub const RANDOM_BYTES: usize = 16;

/// Why a key or a ciphertext is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the EncodingAESKey must be 43 characters of base64 (a 32-byte key)")]
    BadKey,
    #[error("the ciphertext is not base64")]
    NotBase64,
    #[error("the ciphertext length is not a multiple of the block size")]
    BadLength,
    #[error("the padding is wrong (wrong key?)")]
    BadPadding,
    #[error("the decrypted message is malformed")]
    Malformed,
    #[error("the message is for another AppID")]
    WrongAppId,
}

/// Encrypts and decrypts the messages of one Official Account.
#[derive(Clone)]
pub struct MessageCrypto {
    key: [u8; 32],
    app_id: String,
}

impl std::fmt::Debug for MessageCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageCrypto").field("app_id", &self.app_id).finish_non_exhaustive()
    }
}

impl MessageCrypto {
    /// From the EncodingAESKey as the OA backend shows it (43 characters) and the AppID.
    pub fn new(encoding_aes_key: &str, app_id: &str) -> Result<Self, CryptoError> {
        if encoding_aes_key.len() != 43 {
            return Err(CryptoError::BadKey);
        }
        let bytes = KEY_BASE64.decode(format!("{encoding_aes_key}=")).map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self { key, app_id: app_id.to_owned() })
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0; 16];
        iv.copy_from_slice(&self.key[..16]);
        iv
    }

    /// The `<Encrypt>` text for `message`, with `random` as the plaintext's random prefix.
    pub fn encrypt(&self, message: &str, random: [u8; RANDOM_BYTES]) -> String {
        let body = message.as_bytes();
        let mut plain = Vec::with_capacity(RANDOM_BYTES + 4 + body.len() + self.app_id.len() + PAD_BLOCK);
        plain.extend_from_slice(&random);
        // A message is at most the body limit (far below 4 GiB); saturate rather than wrap.
        plain.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
        plain.extend_from_slice(body);
        plain.extend_from_slice(self.app_id.as_bytes());
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        // `pad` is 1..=32, so it fits a byte.
        plain.resize(plain.len() + pad, pad as u8);
        let len = plain.len();
        let cipher = Encryptor::new(&self.key.into(), &self.iv().into());
        // The length is a multiple of the block size, so this cannot fail; an empty result would
        // be refused by the other side rather than panic here.
        let encrypted = cipher.encrypt_padded_mut::<NoPadding>(&mut plain, len).map(<[u8]>::to_vec).unwrap_or_default();
        STANDARD.encode(encrypted)
    }

    /// The message inside an `<Encrypt>` text, checked to be for this AppID.
    pub fn decrypt(&self, encrypted: &str) -> Result<String, CryptoError> {
        let mut data = STANDARD.decode(encrypted.trim()).map_err(|_| CryptoError::NotBase64)?;
        if data.is_empty() || data.len() % 16 != 0 {
            return Err(CryptoError::BadLength);
        }
        let cipher = Decryptor::new(&self.key.into(), &self.iv().into());
        let plain = cipher.decrypt_padded_mut::<NoPadding>(&mut data).map_err(|_| CryptoError::BadLength)?;
        let pad = usize::from(*plain.last().ok_or(CryptoError::BadPadding)?);
        if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
            return Err(CryptoError::BadPadding);
        }
        let content = &plain[..plain.len() - pad];
        let rest = content.get(RANDOM_BYTES..).ok_or(CryptoError::Malformed)?;
        let (len, rest) = rest.split_first_chunk::<4>().ok_or(CryptoError::Malformed)?;
        let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| CryptoError::Malformed)?;
        if len > rest.len() {
            return Err(CryptoError::Malformed);
        }
        let (message, app_id) = rest.split_at(len);
        if app_id != self.app_id.as_bytes() {
            return Err(CryptoError::WrongAppId);
        }
        String::from_utf8(message.to_vec()).map_err(|_| CryptoError::Malformed)
    }
}

/// Random bytes from the operating system, for the plaintext prefix and reply nonces.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: fall back to the clock. The prefix only varies the ciphertext; it
        // carries no secret.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (nanos >> ((i % 16) * 8)) as u8;
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    const APP_ID: &str = "wx1234567890abcdef";
    const MESSAGE: &str = "<xml><Content><![CDATA[签到]]></Content></xml>";
    /// wechatpy 1.8.18's cipher (WeChatCipher + PKCS7Encoder) on the same key, prefix and
    /// message: a vector from the reference implementation, not from this code.
    const VECTOR: &str = "Q3stYC6hdFzMh9T8HCvyDMwQK6xyeRZ7UnuZsYfP7/6gLhS3DyLyfj73J40iGQX9DfXpaG4UCHaVWXHNrURV7gxxNGsF8qlGLRiU9xOiYfOtA0gayB8JNsTlDlAe85aE";

    #[test]
    fn matches_the_reference_vector_both_ways() {
        let crypto = MessageCrypto::new(KEY, APP_ID).unwrap();
        assert_eq!(crypto.encrypt(MESSAGE, *b"0123456789abcdef"), VECTOR);
        assert_eq!(crypto.decrypt(VECTOR).unwrap(), MESSAGE);
    }

    #[test]
    fn round_trips_every_padding_length() {
        let crypto = MessageCrypto::new(KEY, APP_ID).unwrap();
        for n in 0..70 {
            let message = "x".repeat(n);
            let encrypted = crypto.encrypt(&message, random_bytes());
            assert_eq!(crypto.decrypt(&encrypted).unwrap(), message);
        }
    }

    #[test]
    fn refuses_bad_keys_and_tampered_input() {
        assert_eq!(MessageCrypto::new("short", APP_ID).unwrap_err(), CryptoError::BadKey);
        assert_eq!(MessageCrypto::new(&"!".repeat(43), APP_ID).unwrap_err(), CryptoError::BadKey);
        let crypto = MessageCrypto::new(KEY, APP_ID).unwrap();
        assert_eq!(crypto.decrypt("not base64!").unwrap_err(), CryptoError::NotBase64);
        assert_eq!(crypto.decrypt("").unwrap_err(), CryptoError::BadLength);
        assert_eq!(crypto.decrypt(&STANDARD.encode([0u8; 15])).unwrap_err(), CryptoError::BadLength);
        let other = MessageCrypto::new(KEY, "wxother").unwrap();
        assert_eq!(other.decrypt(VECTOR).unwrap_err(), CryptoError::WrongAppId);
        // Another key: garbage padding or a garbage length, never a panic.
        let wrong = MessageCrypto::new("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg", APP_ID).unwrap();
        assert!(wrong.decrypt(VECTOR).is_err());
        for i in 0..64 {
            let mut bytes = STANDARD.decode(VECTOR).unwrap();
            bytes[i] ^= 0x55;
            let _ = crypto.decrypt(&STANDARD.encode(&bytes));
        }
    }
}
