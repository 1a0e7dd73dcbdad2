import { fetchJson } from "./http";

export interface Profile {
  id: string;
  name: string;
  avatarUrl: string;
}

export async function loadProfile(id: string): Promise<Profile> {
  const data = await fetchJson(`/api/profiles/${id}`);
  return {
    id: data.id,
    name: data.name,
    avatarUrl: data.avatar_url,
  };
}
