namespace QcPipeline.Service.Ingest;

/// <summary>Strict UID syntax (PS3.5 §9.1): 1-64 characters, digits and dots, no empty component, no leading or trailing
/// dot; components other than "0" have no leading zero. UIDs name folders and files in the instance store, so a value
/// that passes can never be a path trick ("..", "/", empty).</summary>
public static class UidRules
{
    public static bool IsValid(string? uid)
    {
        if (string.IsNullOrEmpty(uid) || uid.Length > 64) return false;
        int componentStart = 0;
        for (int i = 0; i <= uid.Length; i++)
        {
            if (i == uid.Length || uid[i] == '.')
            {
                int len = i - componentStart;
                if (len == 0) return false;
                if (len > 1 && uid[componentStart] == '0') return false;
                componentStart = i + 1;
            }
            else if (uid[i] is < '0' or > '9')
            {
                return false;
            }
        }
        return true;
    }
}
