export function validateUpload(file) {
  if (file.size > 10 * 1024 * 1024) {
    throw new Error("The file is larger than 10 MB.");
  }
  if (!["image/png", "image/jpeg", "application/pdf"].includes(file.type)) {
    throw new Error("Only PNG, JPEG and PDF files can be uploaded.");
  }
}
