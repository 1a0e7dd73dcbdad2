import { fetchJson } from "./http";

export interface Profile {
  id: string;
  name: string;
  avatarUrl: string;
}

export function loadProfile(id: string): Promise<Profile> {
  return fetchJson(`/api/profiles/${id}`).then((data) => ({
    id: data.id,
    name: data.name,
    avatarUrl: data.avatar_url,
  }));
}
