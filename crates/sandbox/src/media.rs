//! Files in the sandbox: the media users send (registered under file_ids the bot can send
//! again, copy or look up with `getFile`), and `getFile` with Telegram's download limit.

use axum::body::Bytes;
use serde_json::{Map, Value, json};

use super::methods::{Failure, Params};
use super::state::{FileKind, Shared, State, StoredFile};

/// The largest file the Bot API lets a bot download (`getFile`): 20 MB.
pub(crate) const MAX_DOWNLOAD: u64 = 20 * 1024 * 1024;

/// The file_id prefix of each kind, as Telegram's ids start.
fn id_prefix(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Document => "BQACAgIAAxkBAAI",
        FileKind::Photo => "AgACAgIAAxkBAAI",
        FileKind::Voice => "AwACAgIAAxkBAAI",
        FileKind::Sticker => "CAACAgIAAxkBAAI",
    }
}

impl State {
    /// Remembers a file under a fresh file_id (`tag` makes ids of one message distinct).
    pub(crate) fn new_file(
        &mut self,
        kind: FileKind,
        tag: &str,
        file_name: &str,
        mime_type: &str,
        bytes: Bytes,
        size: u64,
    ) -> StoredFile {
        let n = self.serial();
        let file = StoredFile {
            kind,
            file_id: format!("{}{n:06}Sbx{tag}", id_prefix(kind)),
            file_unique_id: format!("AgAD{n:06}{tag}"),
            file_name: file_name.to_owned(),
            mime_type: mime_type.to_owned(),
            bytes,
            size,
            photo: None,
        };
        self.files.insert(file.file_id.clone(), file.clone());
        file
    }

    /// A photo in three sizes (the largest `largest` bytes, holding `bytes`), registered so
    /// each size's file_id can be sent again; the `PhotoSize` array.
    pub(crate) fn new_photo(&mut self, bytes: Bytes, largest: u64) -> Value {
        let sizes = [(90_u32, largest / 50), (320, largest / 4), (800, largest)];
        let mut files = Vec::with_capacity(sizes.len());
        let mut array = Vec::with_capacity(sizes.len());
        for (i, (side, size)) in sizes.into_iter().enumerate() {
            let content = if i == sizes.len() - 1 { bytes.clone() } else { Bytes::new() };
            let file =
                self.new_file(FileKind::Photo, &format!("Photo{i}"), "photo.jpg", "image/jpeg", content, size.max(1));
            array.push(json!({
                "file_id": file.file_id,
                "file_unique_id": file.file_unique_id,
                "file_size": file.size,
                "width": side,
                "height": side * 3 / 4,
            }));
            files.push(file.file_id);
        }
        let array = Value::Array(array);
        for id in files {
            if let Some(f) = self.files.get_mut(&id) {
                f.photo = Some(array.clone());
            }
        }
        array
    }

    /// A user's photo message content: three sizes, about 60 KB at the largest.
    pub(crate) fn photo_content(&mut self) -> Map<String, Value> {
        single("photo", self.new_photo(Bytes::new(), 61_337))
    }

    /// A user's three-second voice message content.
    pub(crate) fn voice_content(&mut self) -> Map<String, Value> {
        let file = self.new_file(FileKind::Voice, "Voice", "voice.oga", "audio/ogg", Bytes::new(), 8_120);
        single(
            "voice",
            json!({
                "file_id": file.file_id,
                "file_unique_id": file.file_unique_id,
                "file_size": file.size,
                "duration": 3,
                "mime_type": file.mime_type,
            }),
        )
    }

    /// A user's regular static sticker content.
    pub(crate) fn sticker_content(&mut self) -> Map<String, Value> {
        let file = self.new_file(FileKind::Sticker, "Sticker", "sticker.webp", "image/webp", Bytes::new(), 23_514);
        single(
            "sticker",
            json!({
                "file_id": file.file_id,
                "file_unique_id": file.file_unique_id,
                "file_size": file.size,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": false,
                "is_video": false,
                "emoji": "👍",
                "set_name": "SandboxStickers",
            }),
        )
    }

    /// A user's document content: `size_bytes` is the size Telegram reports; the sandbox
    /// keeps no content for it, so any size costs nothing.
    pub(crate) fn document_content(&mut self, file_name: &str, size_bytes: u64) -> Map<String, Value> {
        let mime = guess_mime(file_name);
        let file = self.new_file(FileKind::Document, "Doc", file_name, mime, Bytes::new(), size_bytes);
        single("document", file.document_json())
    }
}

pub(crate) fn single(key: &str, value: Value) -> Map<String, Value> {
    let mut m = Map::with_capacity(1);
    m.insert(key.to_owned(), value);
    m
}

/// `getFile`: the file's size and download path; files over 20 MB cannot be downloaded by
/// bots ("file is too big").
pub(crate) fn get_file(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let file_id = p.str("file_id")?.unwrap_or_default();
    if file_id.trim().is_empty() {
        return Err(Failure::bad("file_id is empty"));
    }
    let st = shared.lock();
    let file = st.files.get(file_id.trim()).ok_or_else(|| Failure::bad("invalid file_id"))?;
    if file.size > MAX_DOWNLOAD {
        return Err(Failure::bad("file is too big"));
    }
    let extension = file.file_name.rsplit_once('.').map(|(_, e)| e).filter(|e| !e.is_empty()).unwrap_or("bin");
    let serial: String = file.file_unique_id.chars().filter(char::is_ascii_digit).collect();
    Ok(json!({
        "file_id": file.file_id,
        "file_unique_id": file.file_unique_id,
        "file_size": file.size,
        "file_path": format!("{}/file_{}.{extension}", file.kind.folder(), serial.trim_start_matches('0')),
    }))
}

pub(crate) fn guess_mime(file_name: &str) -> &'static str {
    let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "xml" => "application/xml",
        "zip" => "application/zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}
