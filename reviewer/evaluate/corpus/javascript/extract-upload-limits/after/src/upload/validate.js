export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
export const ALLOWED_TYPES = ["image/png", "image/jpeg", "application/pdf"];

export function validateUpload(file) {
  if (file.size > MAX_UPLOAD_BYTES) {
    throw new Error("The file is larger than 10 MB.");
  }
  if (!ALLOWED_TYPES.includes(file.type)) {
    throw new Error("Only PNG, JPEG and PDF files can be uploaded.");
  }
}
